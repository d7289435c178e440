"""Queries of the complaint domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Insert,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TextualSelect

from complaint_svc.complaints.models import CaseAnalysis, Complaint, TimelineEntry
from complaint_svc.complaints.repeats import EarlierComplaint
from complaint_svc.readmodel.models import Shop
from retailcare_shared.workdays import COMPANY_TIME_ZONE


async def next_sequence(session: AsyncSession) -> int:
    """The next complaint number (a database sequence: no lock shared between intakes)."""
    value = await session.scalar(text("SELECT nextval('complaint_ref_seq')"))
    return int(value)


@dataclass(frozen=True)
class ShopFacts:
    """What intake takes from the shop read model."""

    county: str | None
    district: str | None
    known: bool


_INTAKE_COLUMNS: dict[str, Any] = {
    "seq": BigInteger,
    "county": String,
    "district": String,
    "snapshot_version": Integer,
    "id": UUID(as_uuid=True),
    "repeat_of": UUID(as_uuid=True),
    "category": String,
    "status": String,
    "callback_satisfied": Boolean,
    "filed_at": DateTime(timezone=True),
}
# The CTE is evaluated once (nextval is volatile, so PostgreSQL never inlines it); the shop join
# is on its key; the complaints join adds one row per earlier complaint (none: NULL columns).
_INTAKE_WITH_EARLIER: TextualSelect = text(
    """WITH numbered AS (SELECT nextval('complaint_ref_seq') AS seq)
    SELECT numbered.seq, s.county, s.district, s.snapshot_version,
           c.id, c.repeat_of, c.category, c.status, c.callback_satisfied, c.filed_at
    FROM numbered
    LEFT JOIN shops AS s ON s.customer_id = :customer_id
    LEFT JOIN complaints AS c
        ON c.customer_id = :customer_id AND c.category = :category AND c.filed_at >= :since"""
).columns(**_INTAKE_COLUMNS)
_INTAKE_SHOP_ONLY: TextualSelect = text(
    """WITH numbered AS (SELECT nextval('complaint_ref_seq') AS seq)
    SELECT numbered.seq, s.county, s.district, s.snapshot_version,
           NULL::uuid AS id, NULL::uuid AS repeat_of, NULL AS category, NULL AS status,
           NULL::boolean AS callback_satisfied, NULL::timestamptz AS filed_at
    FROM numbered LEFT JOIN shops AS s ON s.customer_id = :customer_id"""
).columns(**_INTAKE_COLUMNS)


async def intake_lookup(
    session: AsyncSession,
    customer_id: uuid.UUID | None,
    *,
    category: str | None = None,
    since: datetime | None = None,
) -> tuple[int, ShopFacts | None, list[EarlierComplaint]]:
    """One round trip for intake: the next complaint number, the shop from the read model, and
    (when `category` and `since` are given) the shop's complaints in that category since then."""
    if customer_id is None:
        return await next_sequence(session), None, []
    # Parameters passed at execution, not bound into a copy: the compiled form stays cached.
    if category is not None and since is not None:
        result = await session.execute(
            _INTAKE_WITH_EARLIER,
            {"customer_id": customer_id, "category": category, "since": since},
        )
    else:
        result = await session.execute(_INTAKE_SHOP_ONLY, {"customer_id": customer_id})
    rows = result.all()
    first = rows[0]
    shop = (
        ShopFacts(first.county, first.district, first.snapshot_version >= 0)
        if first.snapshot_version is not None
        else None
    )
    earlier = [
        EarlierComplaint(
            row.id, row.repeat_of, row.category, row.status, row.callback_satisfied, row.filed_at
        )
        for row in rows
        if row.id is not None
    ]
    return int(first.seq), shop, earlier


_TIMELINE_KEYS = (
    "complaint_id",
    "at",
    "actor",
    "action",
    "from_status",
    "to_status",
    "note",
    "details",
)
# Insert statements by the set of complaint columns given; built once, so SQLAlchemy compiles
# each only once (values bound into a fresh statement per request were compiled every time).
_FILED_STATEMENTS: dict[tuple[str, ...], Insert] = {}


def _filed_statement(keys: tuple[str, ...]) -> Insert:
    statement = _FILED_STATEMENTS.get(keys)
    if statement is None:
        complaints = cast(Table, Complaint.__table__)
        timeline = cast(Table, TimelineEntry.__table__)
        filed = (
            insert(complaints)
            .values({key: bindparam(f"c_{key}", type_=complaints.c[key].type) for key in keys})
            .cte("filed")
        )
        statement = (
            insert(timeline)
            .values(
                {key: bindparam(f"t_{key}", type_=timeline.c[key].type) for key in _TIMELINE_KEYS}
            )
            .add_cte(filed)
        )
        _FILED_STATEMENTS[keys] = statement
    return statement


async def insert_filed(session: AsyncSession, complaint: Complaint, entry: dict[str, Any]) -> None:
    """Insert a new complaint row and its timeline entry in one statement (one round trip)."""
    state = complaint.__dict__
    keys = tuple(column.key for column in Complaint.__table__.columns if column.key in state)
    parameters = {f"c_{key}": state[key] for key in keys}
    parameters.update({f"t_{key}": entry.get(key) for key in _TIMELINE_KEYS})
    await session.execute(_filed_statement(keys), parameters)


async def get_complaint(session: AsyncSession, complaint_id: uuid.UUID) -> Complaint | None:
    """A complaint by id, without access checks (internal use)."""
    return await session.get(Complaint, complaint_id)


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
