"""Alert queries over survey-svc's own read models (set-based, one query per figure)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_svc.readmodel.handlers import UNKNOWN_STATUS
from survey_svc.readmodel.models import ComplaintView, CustomerView
from survey_svc.responses.models import SurveyResponse


def _in_scope(county: str | None) -> Any:
    return CustomerView.county == county if county is not None else True


async def customers_by_group(
    session: AsyncSession, group: Any, first_day: date, last_day: date, county: str | None
) -> dict[Any, int]:
    """Shops active at any time in the window, per group (complaint-rate denominator)."""
    active_in_window = and_(
        CustomerView.status != UNKNOWN_STATUS,
        or_(CustomerView.licensed_on.is_(None), CustomerView.licensed_on <= last_day),
        or_(
            and_(
                CustomerView.status == "active",
                or_(CustomerView.status_since.is_(None), CustomerView.status_since <= last_day),
            ),
            # Left after the window opened: it was active during part of it.
            and_(CustomerView.status != "active", CustomerView.status_since >= first_day),
        ),
    )
    rows = await session.execute(
        select(group, func.count()).where(active_in_window, _in_scope(county)).group_by(group)
    )
    return {key: int(count) for key, count in rows.all()}


async def complaining_by_group(
    session: AsyncSession, group: Any, start: datetime, end: datetime, county: str | None
) -> dict[Any, int]:
    """Shops with a company-responsible retailer complaint filed in the window (each once)."""
    rows = await session.execute(
        select(group, func.count(func.distinct(ComplaintView.customer_id)))
        .join(CustomerView, CustomerView.customer_id == ComplaintView.customer_id)
        .where(
            ComplaintView.complainant_type == "retailer",
            ComplaintView.company_responsible.is_(True),
            ComplaintView.filed_at >= start,
            ComplaintView.filed_at < end,
            _in_scope(county),
        )
        .group_by(group)
    )
    return {key: int(count) for key, count in rows.all()}


async def satisfaction_by_group(
    session: AsyncSession, group: Any, start: datetime, end: datetime, county: str | None
) -> dict[Any, tuple[int, float | None]]:
    """Campaign responses recorded in the window and their mean satisfaction index, per group."""
    rows = await session.execute(
        select(group, func.count(), func.avg(SurveyResponse.satisfaction_index))
        .join(CustomerView, CustomerView.customer_id == SurveyResponse.customer_id)
        .where(
            SurveyResponse.campaign_id.is_not(None),
            SurveyResponse.satisfaction_index.is_not(None),
            SurveyResponse.created_at >= start,
            SurveyResponse.created_at < end,
            _in_scope(county),
        )
        .group_by(group)
    )
    return {
        key: (int(count), None if mean is None else float(mean)) for key, count, mean in rows.all()
    }
