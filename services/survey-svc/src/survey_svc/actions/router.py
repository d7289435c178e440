"""Improvement action endpoints (the use of results, 成果利用)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from sqlalchemy import select

from retailcare_shared.db import DbSession
from retailcare_shared.http import (
    Page,
    PageParams,
    check_if_match,
    etag,
    keyset_page,
    make_page,
    page_params,
)
from retailcare_shared.idempotency import Idempotency
from survey_svc.access import CampaignAdmin, ResultsReader
from survey_svc.actions import service
from survey_svc.actions.models import ImprovementAction
from survey_svc.actions.schemas import ActionIn, ActionOut, ActionPatch
from survey_svc.campaigns import service as campaigns

router = APIRouter(prefix="/api/v1/survey-campaigns", tags=["improvement actions"])


@router.post("/{campaign_id}/actions", status_code=201, response_model=ActionOut)
async def create_action(
    campaign_id: uuid.UUID,
    body: ActionIn,
    session: DbSession,
    idempotency: Idempotency,
    user: CampaignAdmin,
) -> Response:
    """Record an improvement action on a weak item or dimension."""
    campaign = await campaigns.load(session, campaign_id, user)
    action = await service.create(session, campaign, body, user.sub)
    return await idempotency.remember(
        ActionOut.model_validate(action), status_code=201, headers={"ETag": etag(action.version)}
    )


@router.get("/{campaign_id}/actions", response_model=Page[ActionOut])
async def list_actions(
    campaign_id: uuid.UUID,
    session: DbSession,
    user: ResultsReader,
    params: Annotated[PageParams, Depends(page_params)],
) -> Page[Any]:
    """A campaign's improvement actions, oldest first."""
    campaign = await campaigns.load(session, campaign_id, user)
    statement = keyset_page(
        select(ImprovementAction).where(ImprovementAction.campaign_id == campaign.id),
        [ImprovementAction.created_at, ImprovementAction.id],
        params,
    )
    rows = (await session.scalars(statement)).all()
    return make_page(
        rows,
        params,
        lambda row: (row.created_at.isoformat(), row.id),
        shape=ActionOut.model_validate,
    )


@router.patch("/{campaign_id}/actions/{action_id}", response_model=ActionOut)
async def progress_action(
    campaign_id: uuid.UUID,
    action_id: uuid.UUID,
    body: ActionPatch,
    session: DbSession,
    response: Response,
    user: CampaignAdmin,
    if_match: Annotated[str | None, Header()] = None,
) -> ActionOut:
    """Track an action to done (If-Match required)."""
    campaign = await campaigns.load(session, campaign_id, user)
    action = await service.load(session, campaign, action_id)
    check_if_match(if_match, action.version)
    await service.progress(session, action, body)
    response.headers["ETag"] = etag(action.version)
    return ActionOut.model_validate(action)
