"""Result queries: the per-cell sums kept by every response (a few hundred rows per campaign)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Row, cast, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_svc.campaigns.models import CampaignCell, CampaignStratum, Invitation
from survey_svc.responses.models import SUM_COLUMNS, ResultCell, SurveyAnswer


def _group(by: str | None) -> Any:
    return literal(None) if by is None else getattr(CampaignCell, by)


async def cell_counts(
    session: AsyncSession, campaign_id: uuid.UUID, by: str | None
) -> Sequence[Row[Any]]:
    """Invited and responded per stratum (and group)."""
    group = _group(by)
    statement = (
        select(
            CampaignCell.stratum_no,
            group.label("grp"),
            func.sum(CampaignCell.invited).label("invited"),
            func.sum(CampaignCell.responded).label("responded"),
        )
        .where(CampaignCell.campaign_id == campaign_id)
        .group_by(CampaignCell.stratum_no, *([] if by is None else [group]))
        .order_by(CampaignCell.stratum_no)
    )
    rows: Sequence[Row[Any]] = (await session.execute(statement)).all()
    return rows


async def cell_sums(
    session: AsyncSession, campaign_id: uuid.UUID, by: str | None
) -> Sequence[Row[Any]]:
    """Per stratum (and group) and item: the kept sums, added up by PostgreSQL."""
    group = _group(by)
    statement = (
        select(
            CampaignCell.stratum_no,
            group.label("grp"),
            ResultCell.item_code,
            *(cast(func.sum(getattr(ResultCell, c)), Float).label(c) for c in SUM_COLUMNS),
        )
        .join(
            CampaignCell,
            (CampaignCell.campaign_id == ResultCell.campaign_id)
            & (CampaignCell.cell_no == ResultCell.cell_no),
        )
        .where(ResultCell.campaign_id == campaign_id)
        .group_by(CampaignCell.stratum_no, ResultCell.item_code, *([] if by is None else [group]))
    )
    rows: Sequence[Row[Any]] = (await session.execute(statement)).all()
    return rows


async def populations(session: AsyncSession, campaign_id: uuid.UUID) -> dict[int, int]:
    """N_h of each stratum."""
    rows = await session.execute(
        select(CampaignStratum.stratum_no, CampaignStratum.population).where(
            CampaignStratum.campaign_id == campaign_id
        )
    )
    return {int(stratum): int(population) for stratum, population in rows.all()}


async def rebuild(session: AsyncSession, campaign_id: uuid.UUID) -> None:
    """Recompute a campaign's cell sums from its answers (backfills, bulk loads, audits)."""
    await session.execute(delete(ResultCell).where(ResultCell.campaign_id == campaign_id))
    gap = SurveyAnswer.perception - SurveyAnswer.expectation
    sums = (
        select(
            SurveyAnswer.campaign_id,
            SurveyAnswer.cell_no,
            SurveyAnswer.item_code,
            func.count(SurveyAnswer.expectation),
            func.coalesce(func.sum(SurveyAnswer.expectation), 0),
            func.coalesce(func.sum(SurveyAnswer.perception), 0),
            func.coalesce(func.sum(gap), 0),
            func.coalesce(func.sum(gap * gap), 0),
            *(func.count().filter(SurveyAnswer.score == s) for s in range(1, 6)),
        )
        .where(
            SurveyAnswer.campaign_id == campaign_id,
            (SurveyAnswer.expectation.is_not(None)) | (SurveyAnswer.score.is_not(None)),
        )
        .group_by(SurveyAnswer.campaign_id, SurveyAnswer.cell_no, SurveyAnswer.item_code)
    )
    await session.execute(
        insert(ResultCell).from_select(["campaign_id", "cell_no", "item_code", *SUM_COLUMNS], sums)
    )
    # One grouped pass over the invitations (not one count per cell).
    answered = (
        select(Invitation.cell_no, func.count().label("answered"))
        .where(Invitation.campaign_id == campaign_id, Invitation.status == "completed")
        .group_by(Invitation.cell_no)
        .subquery()
    )
    await session.execute(
        update(CampaignCell).where(CampaignCell.campaign_id == campaign_id).values(responded=0)
    )
    await session.execute(
        update(CampaignCell)
        .where(CampaignCell.campaign_id == campaign_id, CampaignCell.cell_no == answered.c.cell_no)
        .values(responded=answered.c.answered)
    )
