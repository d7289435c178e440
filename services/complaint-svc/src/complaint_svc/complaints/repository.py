"""Queries of the complaint domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.complaints.models import CaseAnalysis, Complaint, TimelineEntry
from complaint_svc.complaints.repeats import EarlierComplaint
from complaint_svc.readmodel.models import Shop
from retailcare_shared.workdays import COMPANY_TIME_ZONE


async def next_sequence(session: AsyncSession) -> int:
    """The next complaint number (a database sequence: no lock shared between intakes)."""
    value = await session.scalar(text("SELECT nextval('complaint_ref_seq')"))
    return int(value)


async def get_shop(session: AsyncSession, customer_id: uuid.UUID) -> Shop | None:
    """The shop from the read model, if known."""
    return await session.get(Shop, customer_id)


async def get_complaint(session: AsyncSession, complaint_id: uuid.UUID) -> Complaint | None:
    """A complaint by id, without access checks (internal use)."""
    return await session.get(Complaint, complaint_id)


async def recent_for_shop(
    session: AsyncSession, customer_id: uuid.UUID, category: str, since: datetime
) -> list[EarlierComplaint]:
    """The shop's complaints in a category filed since `since` (repeat-detection input)."""
    rows = await session.execute(
        select(
            Complaint.id,
            Complaint.repeat_of,
            Complaint.category,
            Complaint.status,
            Complaint.callback_satisfied,
            Complaint.filed_at,
        ).where(
            Complaint.customer_id == customer_id,
            Complaint.category == category,
            Complaint.filed_at >= since,
        )
    )
    return [EarlierComplaint(*row) for row in rows.all()]


async def add_timeline(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    """Write timeline entries in one multi-row insert."""
    if entries:
        await session.execute(insert(TimelineEntry), list(entries))


async def timeline(session: AsyncSession, complaint_id: uuid.UUID) -> Sequence[TimelineEntry]:
    """The complaint's timeline, oldest first."""
    result = await session.scalars(
        select(TimelineEntry)
        .where(TimelineEntry.complaint_id == complaint_id)
        .order_by(TimelineEntry.id)
    )
    return result.all()


def local_day_start(day: date) -> datetime:
    """Midnight of a company-local date."""
    return datetime.combine(day, datetime.min.time(), COMPANY_TIME_ZONE)


def filtered(
    statement: Select[Any],
    *,
    customer_id: uuid.UUID | None = None,
    status: str | None = None,
    category: str | None = None,
    service_item: str | None = None,
    assignee: str | None = None,
    received_by: str | None = None,
    overdue: bool | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
    county: str | None = None,
    district: str | None = None,
) -> Select[Any]:
    """Apply the list filters of `GET /complaints`."""
    equal = {
        Complaint.customer_id: customer_id,
        Complaint.status: status,
        Complaint.category: category,
        Complaint.service_item: service_item,
        Complaint.assignee: assignee,
        Complaint.received_by: received_by,
        Complaint.overdue: overdue,
        Complaint.county: county,
        Complaint.district: district,
    }
    for column, value in equal.items():
        if value is not None:
            statement = statement.where(column == value)
    if from_date is not None:
        statement = statement.where(Complaint.filed_at >= local_day_start(from_date))
    if to_date is not None:
        statement = statement.where(
            Complaint.filed_at < local_day_start(to_date + timedelta(days=1))
        )
    return statement


async def get_case_analysis(
    session: AsyncSession, complaint_id: uuid.UUID, *, lock: bool = True
) -> CaseAnalysis | None:
    """The case analysis of a complaint (locked for update unless `lock` is false)."""
    statement = select(CaseAnalysis).where(CaseAnalysis.complaint_id == complaint_id)
    return await session.scalar(statement.with_for_update() if lock else statement)


async def mark_verified(session: AsyncSession, shop: Shop) -> None:
    """Complaints of a shop that just arrived in the read model become verified."""
    await session.execute(
        update(Complaint)
        .where(
            Complaint.customer_id == shop.customer_id,
            or_(
                Complaint.customer_verified.is_(False),
                Complaint.county.is_distinct_from(shop.county),
                Complaint.district.is_distinct_from(shop.district),
            ),
        )
        .values(customer_verified=True, county=shop.county, district=shop.district)
    )


async def chain_length(session: AsyncSession, root_id: uuid.UUID) -> int:
    """How many repeats point at a chain root."""
    value = await session.scalar(
        select(func.count()).select_from(Complaint).where(Complaint.repeat_of == root_id)
    )
    return int(value or 0)
