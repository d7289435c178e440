"""Campaign queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_svc.campaigns.models import Campaign, CampaignStratum, Invitation
from survey_svc.readmodel.models import CustomerView

FRAME_COLUMNS = ("district", "value_class", "manager_id", "market_type")
INSERT_CHUNK = 5000


async def get(
    session: AsyncSession, campaign_id: uuid.UUID, *, lock: bool = False
) -> Campaign | None:
    """One campaign, optionally locked for update."""
    statement = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def strata_of(session: AsyncSession, campaign_id: uuid.UUID) -> list[CampaignStratum]:
    """The drawn strata of a campaign."""
    rows = await session.scalars(
        select(CampaignStratum)
        .where(CampaignStratum.campaign_id == campaign_id)
        .order_by(CampaignStratum.stratum_no)
    )
    return list(rows)


async def frame(session: AsyncSession, county: str | None) -> Sequence[Row[Any]]:
    """Active shops in scope with their strata attributes."""
    statement = select(
        CustomerView.customer_id, *(getattr(CustomerView, name) for name in FRAME_COLUMNS)
    ).where(CustomerView.status == "active")
    if county is not None:
        statement = statement.where(CustomerView.county == county)
    return (await session.execute(statement)).all()


async def recently_invited(
    session: AsyncSession, since: datetime, excluding_campaign: uuid.UUID
) -> set[uuid.UUID]:
    """Shops invited by another campaign since a moment (the exclusion window)."""
    rows = await session.scalars(
        select(Invitation.customer_id)
        .where(Invitation.created_at >= since, Invitation.campaign_id != excluding_campaign)
        .distinct()
    )
    return set(rows)


async def insert_rows(session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Multi-row inserts in chunks (large frames stay within protocol limits)."""
    for start in range(0, len(rows), INSERT_CHUNK):
        await session.execute(insert(model), rows[start : start + INSERT_CHUNK])


async def expire_pending(session: AsyncSession, campaign_id: uuid.UUID) -> None:
    """Pending invitations of a closed campaign can no longer be answered."""
    await session.execute(
        update(Invitation)
        .where(Invitation.campaign_id == campaign_id, Invitation.status == "pending")
        .values(status="expired")
    )


def invitations(
    campaign_id: uuid.UUID, manager_id: uuid.UUID | None, status: str | None
) -> Select[Any]:
    """A campaign's invitations; for a manager only those of the shops they manage now."""
    statement = select(Invitation).where(Invitation.campaign_id == campaign_id)
    if manager_id is not None:
        statement = statement.join(
            CustomerView, CustomerView.customer_id == Invitation.customer_id
        ).where(CustomerView.manager_id == manager_id)
    if status is not None:
        statement = statement.where(Invitation.status == status)
    return statement


def listing(county: str | None, scoped: bool) -> Select[Any]:
    """Campaigns visible to a caller (a county-scoped caller sees only that county's)."""
    statement = select(Campaign)
    if scoped:
        statement = statement.where(Campaign.county == county)
    return statement
