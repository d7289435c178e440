"""Every query of the shop domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.common.paging import like_pattern
from customer_svc.customers.models import (
    Classification,
    Customer,
    CustomerVersion,
    ViolationRecord,
)
from customer_svc.managers.models import ManagerAssignment


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


def search(filters: dict[str, Any]) -> Select[Any]:
    """The search statement for the list endpoint (scope and paging applied by the caller)."""
    statement = select(Customer)
    fragment = filters.get("q")
    if fragment:
        pattern = like_pattern(fragment)
        statement = statement.where(
            or_(
                Customer.name.ilike(pattern, escape="\\"),
                Customer.address.ilike(pattern, escape="\\"),
            )
        )
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


async def assignments(session: AsyncSession, customer_id: uuid.UUID) -> list[ManagerAssignment]:
    """Every manager assignment of a shop, newest first."""
    rows = await session.scalars(
        select(ManagerAssignment)
        .where(ManagerAssignment.customer_id == customer_id)
        .order_by(ManagerAssignment.id.desc())
    )
    return list(rows)
