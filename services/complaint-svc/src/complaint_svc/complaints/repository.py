"""Queries of the complaint domain."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import asyncpg
from sqlalchemy import (
    Select,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.complaints.models import CaseAnalysis, Complaint, TimelineEntry
from complaint_svc.complaints.repeats import EarlierComplaint
from complaint_svc.readmodel.models import Shop
from retailcare_shared.db import DriverStatement
from retailcare_shared.idempotency import claimed_answer
from retailcare_shared.outbox import recorded_after
from retailcare_shared.workdays import COMPANY_TIME_ZONE


@dataclass(frozen=True)
class ShopFacts:
    """What intake takes from the shop read model."""

    county: str | None
    district: str | None
    known: bool


@dataclass(frozen=True)
class ChainLink:
    """A complaint named by `repeat_of`: whose it is and which chain it belongs to."""

    id: uuid.UUID
    customer_id: uuid.UUID | None
    repeat_of: uuid.UUID | None


# Intake runs on the driver connection in autocommit (DriverStatement): one lookup, then one
# statement writing key, row, timeline entry and outbox event together.
_NEXT_SEQUENCE_TEXT = text("SELECT nextval('complaint_ref_seq')")
_NEXT_SEQUENCE = DriverStatement(_NEXT_SEQUENCE_TEXT)
# The CTE is evaluated once (nextval is volatile, so PostgreSQL never inlines it); the shop join
# is on its key; the complaints join adds one row per earlier complaint (none: NULL columns).
_INTAKE_WITH_EARLIER = DriverStatement(
    text(
        """WITH numbered AS (SELECT nextval('complaint_ref_seq') AS seq)
        SELECT numbered.seq, s.county, s.district, s.snapshot_version,
               c.id, c.repeat_of, c.category, c.status, c.callback_satisfied, c.filed_at
        FROM numbered
        LEFT JOIN shops AS s ON s.customer_id = :customer_id
        LEFT JOIN complaints AS c
            ON c.customer_id = :customer_id AND c.category = :category AND c.filed_at >= :since"""
    )
)
_INTAKE_SHOP_ONLY = DriverStatement(
    text(
        """WITH numbered AS (SELECT nextval('complaint_ref_seq') AS seq)
        SELECT numbered.seq, s.county, s.district, s.snapshot_version, NULL::uuid AS id
        FROM numbered LEFT JOIN shops AS s ON s.customer_id = :customer_id"""
    )
)
_CHAIN_LINK = DriverStatement(
    select(Complaint.id, Complaint.customer_id, Complaint.repeat_of).where(
        Complaint.id == bindparam("id")
    )
)


async def next_sequence(session: AsyncSession) -> int:
    """The next complaint number (a database sequence: no lock shared between intakes)."""
    value = await session.scalar(_NEXT_SEQUENCE_TEXT)
    return int(value)


async def intake_lookup(
    connection: asyncpg.Connection,
    customer_id: uuid.UUID | None,
    *,
    category: str | None = None,
    since: datetime | None = None,
) -> tuple[int, ShopFacts | None, list[EarlierComplaint]]:
    """One round trip for intake: the next complaint number, the shop from the read model, and
    (when `category` and `since` are given) the shop's complaints in that category since then."""
    if customer_id is None:
        return int(await _NEXT_SEQUENCE.fetchval(connection, {})), None, []
    if category is not None and since is not None:
        rows = await _INTAKE_WITH_EARLIER.fetch(
            connection, {"customer_id": customer_id, "category": category, "since": since}
        )
    else:
        rows = await _INTAKE_SHOP_ONLY.fetch(connection, {"customer_id": customer_id})
    first = rows[0]
    shop = (
        ShopFacts(first["county"], first["district"], first["snapshot_version"] >= 0)
        if first["snapshot_version"] is not None
        else None
    )
    earlier = [
        EarlierComplaint(
            row["id"],
            row["repeat_of"],
            row["category"],
            row["status"],
            row["callback_satisfied"],
            row["filed_at"],
        )
        for row in rows
        if row["id"] is not None
    ]
    return int(first["seq"]), shop, earlier


async def chain_link(connection: asyncpg.Connection, complaint_id: uuid.UUID) -> ChainLink | None:
    """The complaint `repeat_of` names, without access checks (intake links any complaint)."""
    rows = await _CHAIN_LINK.fetch(connection, {"id": complaint_id})
    return ChainLink(rows[0]["id"], rows[0]["customer_id"], rows[0]["repeat_of"]) if rows else None


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


@functools.cache
def _filed_statement(keys: tuple[str, ...], *, keyed: bool) -> DriverStatement:
    """Key (when sent), complaint row, timeline entry and outbox event in one statement.

    Built once per set of complaint columns. With a key, every insert selects from the key's
    claim, so a request whose key is taken writes nothing at all.
    """
    complaints = cast(Table, Complaint.__table__)
    timeline = cast(Table, TimelineEntry.__table__)
    claimed = claimed_answer() if keyed else None
    row = select(*(bindparam(f"c_{key}", type_=complaints.c[key].type) for key in keys))
    if claimed is not None:
        row = row.select_from(claimed)
    filed = insert(complaints).from_select(list(keys), row).returning(complaints.c.id).cte("filed")
    entry = select(
        filed.c.id,
        *(
            bindparam(f"t_{key}", type_=timeline.c[key].type)
            for key in _TIMELINE_KEYS
            if key != "complaint_id"
        ),
    )
    logged = insert(timeline).from_select(list(_TIMELINE_KEYS), entry).cte("logged")
    statement = select(func.count()).select_from(filed).add_cte(logged, recorded_after(filed))
    if claimed is not None:
        statement = statement.add_cte(claimed)
    return DriverStatement(statement)


async def insert_filed(
    connection: asyncpg.Connection,
    complaint: Complaint,
    entry: dict[str, Any],
    event: dict[str, Any],
    claim: dict[str, Any] | None,
) -> bool:
    """Write the new complaint, its timeline entry, its outbox event and (when given) the
    idempotency key's claim in one statement; False when the key was taken (nothing written)."""
    state = complaint.__dict__
    keys = tuple(column.key for column in Complaint.__table__.columns if column.key in state)
    values = {f"c_{key}": state[key] for key in keys}
    values.update({f"t_{key}": entry.get(key) for key in _TIMELINE_KEYS})
    values.update(event)
    if claim is not None:
        values.update(claim)
    written = await _filed_statement(keys, keyed=claim is not None).fetchval(connection, values)
    return bool(written)


async def add_timeline(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    """Write timeline entries in one multi-row insert."""
    if entries:
        await session.execute(insert(TimelineEntry), list(entries))


def timeline(complaint_id: uuid.UUID) -> Select[Any]:
    """The complaint's timeline entries (paging, oldest first, applied by the caller)."""
    return select(TimelineEntry).where(TimelineEntry.complaint_id == complaint_id)


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


_LOCK_SHOP_SNAPSHOT = text("SELECT lock_shop_snapshot(:customer_id)")


async def lock_shop_snapshot(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Take the shop's lock until the transaction ends (intakes of the shop wait for it)."""
    await session.execute(_LOCK_SHOP_SNAPSHOT, {"customer_id": customer_id})


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
