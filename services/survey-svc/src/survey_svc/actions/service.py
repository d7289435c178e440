"""Improvement actions: one item or one dimension of the campaign's questionnaire each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.problems import InvalidInput, NotFound
from survey_svc.actions.models import ImprovementAction
from survey_svc.actions.schemas import ActionIn, ActionPatch
from survey_svc.campaigns.models import Campaign
from survey_svc.questionnaires.repository import items_of


async def create(
    session: AsyncSession, campaign: Campaign, body: ActionIn, actor: str
) -> ImprovementAction:
    """Record an action on an item or a dimension (exactly one of the two)."""
    if (body.item_code is None) == (body.dimension is None):
        raise InvalidInput("item_code", "one_of", "give either item_code or dimension")
    if body.item_code is not None:
        items = (await items_of(session, [campaign.questionnaire_id]))[campaign.questionnaire_id]
        if body.item_code not in {item.code for item in items}:
            raise InvalidInput(
                "item_code", "unknown_item", "not an item of the campaign's questionnaire"
            )
    action = ImprovementAction(
        id=uuid.uuid4(),
        campaign_id=campaign.id,
        item_code=body.item_code,
        dimension=body.dimension,
        action=body.action,
        owner=body.owner,
        due=body.due,
        status="open",
        created_by=actor,
        version=1,
    )
    session.add(action)
    await session.flush()
    await session.refresh(action)
    return action


async def load(
    session: AsyncSession, campaign: Campaign, action_id: uuid.UUID
) -> ImprovementAction:
    """An action of the campaign, locked for update, or 404."""
    action = await session.scalar(
        select(ImprovementAction)
        .where(ImprovementAction.id == action_id, ImprovementAction.campaign_id == campaign.id)
        .with_for_update()
    )
    if action is None:
        raise NotFound(f"action {action_id} does not exist")
    return action


async def progress(session: AsyncSession, action: ImprovementAction, body: ActionPatch) -> None:
    """Move an action on; `done` records when."""
    action.status = body.status
    if body.note is not None:
        action.note = body.note
    action.done_at = datetime.now(UTC) if body.status == "done" else None
    action.version += 1
    await session.flush()
    await session.refresh(action)
