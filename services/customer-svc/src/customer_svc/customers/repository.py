"""Every query of the shop domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.common.paging import like_pattern
from customer_svc.customers.models import (
    Classification,
    Customer,
    CustomerSearchKey,
    CustomerVersion,
    ViolationRecord,
)
from customer_svc.customers.search_terms import ADDRESS, NAME, OWNER, query_terms
from customer_svc.managers.models import ManagerAssignment
from retailcare_shared.http import PageParams, decode_cursor
from retailcare_shared.problems import InvalidInput


async def get(
    session: AsyncSession, customer_id: uuid.UUID, *, lock: bool = False
) -> Customer | None:
    """The shop by id (row-locked for writes)."""
    statement = select(Customer).where(Customer.id == customer_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def get_by_license(session: AsyncSession, license_no: str) -> Customer | None:
    """The shop holding a licence number."""
    return await session.scalar(select(Customer).where(Customer.license_no == license_no))


async def license_taken(
    session: AsyncSession, license_no: str, *, other_than: uuid.UUID | None = None
) -> bool:
    """Whether another shop already holds the licence number."""
    statement = select(Customer.id).where(Customer.license_no == license_no)
    if other_than is not None:
        statement = statement.where(Customer.id != other_than)
    return (await session.scalar(statement)) is not None


OWNER_TIER = 5


def _contains(terms: list[str]) -> ColumnElement[bool]:
    return Customer.search_terms.contains(terms)


Tier = tuple[int, ColumnElement[bool], bool]


def _tiers(fragment: str, *, owner_names: bool) -> list[Tier]:
    """Each relevance tier and its condition, best first: 1 the name begins with the fragment
    (the exact name is the shortest of these), 2 the name contains it, 3 the name reads as it
    (pinyin or initials), 4 the address contains it, 5 the owner name contains or reads as it
    (only for roles that see owner names). A shop's tier is the first whose condition holds.
    The flag: the condition is one set of terms, whose row count PostgreSQL estimates well."""
    terms = query_terms(fragment)
    contains = like_pattern(fragment)

    def literal(tags: list[str], field: Any, pattern: str) -> ColumnElement[bool]:
        return and_(_contains(tags), field.ilike(pattern, escape="\\"))

    tiers: list[Tier] = [
        (1, literal(terms.name_start(), Customer.name, contains[1:]), True),
        (2, literal(terms.in_field(NAME), Customer.name, contains), True),
    ]
    readings = [_contains(alt) for alt in [*terms.name_pinyin, terms.name_initials] if alt]
    if readings:
        tiers.append((3, or_(*readings), len(readings) == 1))
    tiers.append((4, literal(terms.in_field(ADDRESS), Customer.address, contains), True))
    if owner_names:
        owner_readings = [
            _contains(alt) for alt in [*terms.owner_pinyin(), terms.owner_initials()] if alt
        ]
        in_owner = literal(terms.in_field(OWNER), Customer.owner_name, contains)
        tiers.append((OWNER_TIER, or_(in_owner, *owner_readings), not owner_readings))
    return tiers


def text_search(
    statement: Select[Any], fragment: str, params: PageParams, *, owner_names: bool
) -> Select[Any]:
    """Shops matching `q`, by relevance tier, then shorter name, then licence number.

    A 2-character fragment reads a page of customer_search_keys in order. Any other: one branch
    per tier collects a page of candidates (a shop may match several tiers; the GIN index finds
    rare terms, the (name length, licence) index is walked for common ones), then the
    candidates are ranked by their best tier. Every branch keeps only rows after the cursor,
    so the best page is always among the candidates. Rows carry `relevance` and `name_length`.
    """
    after: tuple[int, int, str] | None = None
    if params.cursor is not None:
        raw = decode_cursor(params.cursor, 3)
        try:
            after = (int(raw[0]), int(raw[1]), raw[2])
        except ValueError:
            raise InvalidInput("cursor", "format", "not a cursor returned by this API") from None
    terms = query_terms(fragment)
    if len(terms.lowered) == 2 and not terms.name_pinyin and not terms.name_initials:
        return _pair_search(statement, terms.lowered, params, after, owner_names=owner_names)
    tiers = _tiers(fragment, owner_names=owner_names)
    rank = case(*((condition, tier) for tier, condition, _ in tiers), else_=OWNER_TIER + 1)
    length = func.char_length(Customer.name)
    ordering = (rank, length, Customer.license_no)
    branches = []
    for tier, condition, estimated in tiers:
        if after is not None and tier < after[0]:
            continue  # every shop matching it ranks before the cursor
        branch = statement.with_only_columns(Customer.id).where(condition)
        if after is not None:
            branch = branch.where(tuple_(*ordering) > tuple_(*after))
        # An OR of term sets is estimated far too high, and a walk of the length index that
        # expects to stop early then reads every shop: `+ 0` keeps such a branch on the GIN
        # index (it costs what it matches).
        key = length if estimated else length + 0
        branches.append(branch.order_by(key, Customer.license_no).limit(params.limit + 1))
    ranked = statement.add_columns(rank.label("relevance"), length.label("name_length"))
    if not branches:
        return ranked.where(false())
    candidates = union_all(*branches).subquery("candidates")
    ranked = ranked.where(Customer.id.in_(select(candidates.c.id)))
    if after is not None:
        ranked = ranked.where(tuple_(*ordering) > tuple_(*after))
    return ranked.order_by(*ordering).limit(params.limit + 1)


def _pair_search(
    statement: Select[Any],
    pair: str,
    params: PageParams,
    after: tuple[int, int, str] | None,
    *,
    owner_names: bool,
) -> Select[Any]:
    """A 2-character fragment: a page of its keys, read in order from the primary key of
    customer_search_keys (same tiers and order as the other fragments, pinyin aside)."""
    key = CustomerSearchKey
    statement = (
        statement.join(key, key.customer_id == Customer.id)
        .add_columns(key.tier.label("relevance"), key.name_length.label("name_length"))
        .where(key.term == pair)
    )
    if not owner_names:
        statement = statement.where(key.tier < OWNER_TIER)
    if after is not None:
        statement = statement.where(
            tuple_(key.tier, key.name_length, key.license_no) > tuple_(*after)
        )
    return statement.order_by(key.tier, key.name_length, key.license_no).limit(params.limit + 1)


def search(filters: dict[str, Any]) -> Select[Any]:
    """The filter statement for the list endpoint (`q`, scope and paging: the caller's)."""
    statement = select(Customer)
    if filters.get("phone"):
        statement = statement.where(Customer.phones.contains([filters["phone"]]))
    for field in (
        "license_no",
        "county",
        "district",
        "manager_id",
        "status",
        "value_class",
        "business_format",
        "market_type",
    ):
        value = filters.get(field)
        if value is not None:
            statement = statement.where(getattr(Customer, field) == value)
    return statement


async def close_open_version(session: AsyncSession, customer_id: uuid.UUID, at: datetime) -> None:
    """End the validity of the current version."""
    await session.execute(
        update(CustomerVersion)
        .where(CustomerVersion.customer_id == customer_id, CustomerVersion.valid_to.is_(None))
        .values(valid_to=at)
    )


async def version_at(
    session: AsyncSession, customer_id: uuid.UUID, instant: datetime, *, inclusive: bool
) -> CustomerVersion | None:
    """The version in force at an instant (the latest one that began before it)."""
    began = (
        CustomerVersion.valid_from <= instant if inclusive else CustomerVersion.valid_from < instant
    )
    return await session.scalar(
        select(CustomerVersion)
        .where(CustomerVersion.customer_id == customer_id, began)
        .order_by(CustomerVersion.valid_from.desc(), CustomerVersion.version.desc())
        .limit(1)
    )


async def all_versions(session: AsyncSession, customer_id: uuid.UUID) -> list[CustomerVersion]:
    """Every version of a shop (for erasure), locked."""
    rows = await session.scalars(
        select(CustomerVersion)
        .where(CustomerVersion.customer_id == customer_id)
        .order_by(CustomerVersion.version)
        .with_for_update()
    )
    return list(rows)


def history(customer_id: uuid.UUID) -> Select[Any]:
    """A shop's versions (paging applied by the caller)."""
    return select(CustomerVersion).where(CustomerVersion.customer_id == customer_id)


def violations(customer_id: uuid.UUID) -> Select[Any]:
    """A shop's violations (paging applied by the caller)."""
    return select(ViolationRecord).where(ViolationRecord.customer_id == customer_id)


async def classification_at(
    session: AsyncSession, customer_id: uuid.UUID, instant: datetime
) -> Classification | None:
    """The latest classification received before an instant."""
    return await session.scalar(
        select(Classification)
        .where(Classification.customer_id == customer_id, Classification.received_at < instant)
        .order_by(Classification.period.desc())
        .limit(1)
    )


def assignments(customer_id: uuid.UUID) -> Select[Any]:
    """A shop's manager assignments (paging applied by the caller)."""
    return select(ManagerAssignment).where(ManagerAssignment.customer_id == customer_id)
