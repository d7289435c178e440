"""Queries of managers and the workload report (set-based: one statement per report)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.customers.models import Customer
from customer_svc.managers.models import Manager
from customer_svc.visits.models import Visit


async def employee_no_taken(session: AsyncSession, employee_no: str) -> bool:
    """Whether a manager already has this employee number."""
    found = await session.scalar(select(Manager.id).where(Manager.employee_no == employee_no))
    return found is not None


async def get(
    session: AsyncSession, manager_id: uuid.UUID, *, lock: bool = False
) -> Manager | None:
    """A manager by id (row-locked for writes)."""
    statement = select(Manager).where(Manager.id == manager_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def managers_by_id(
    session: AsyncSession, manager_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Manager]:
    """The named managers, by id."""
    if not manager_ids:
        return {}
    rows = await session.scalars(select(Manager).where(Manager.id.in_(set(manager_ids))))
    return {manager.id: manager for manager in rows}


async def shops_named(
    session: AsyncSession, customer_ids: list[uuid.UUID], license_nos: list[str]
) -> list[Any]:
    """(id, license_no, county, manager_id) of the shops a batch names, in one query."""
    if not customer_ids and not license_nos:
        return []
    statement = select(
        Customer.id, Customer.license_no, Customer.county, Customer.manager_id
    ).where(or_(Customer.id.in_(customer_ids), Customer.license_no.in_(license_nos)))
    return list((await session.execute(statement)).all())


async def open_shop_count(session: AsyncSession, manager_id: uuid.UUID) -> int:
    """Shops (not exited) currently assigned to a manager."""
    count = await session.scalar(
        select(func.count())
        .select_from(Customer)
        .where(Customer.manager_id == manager_id, Customer.status != "exited")
    )
    return int(count or 0)


async def workload(session: AsyncSession, county: str | None, since: datetime) -> list[Any]:
    """Per manager: shops (not exited), small and rural shops, visits and minutes since `since`."""
    shops = (
        select(
            Customer.manager_id.label("manager_id"),
            func.count().label("shops"),
            func.count().filter(Customer.scale == "small").label("small_shops"),
            func.count().filter(Customer.market_type == "rural").label("rural_shops"),
        )
        .where(Customer.status != "exited", Customer.manager_id.is_not(None))
        .group_by(Customer.manager_id)
        .subquery()
    )
    visits = (
        select(
            Visit.manager_id.label("manager_id"),
            func.count().label("visits"),
            func.coalesce(func.sum(Visit.minutes), 0.0).label("minutes"),
        )
        .where(Visit.started_at >= since)
        .group_by(Visit.manager_id)
        .subquery()
    )
    statement = (
        select(
            Manager,
            func.coalesce(shops.c.shops, 0).label("shops"),
            func.coalesce(shops.c.small_shops, 0).label("small_shops"),
            func.coalesce(shops.c.rural_shops, 0).label("rural_shops"),
            func.coalesce(visits.c.visits, 0).label("visits"),
            cast(func.coalesce(visits.c.minutes, 0.0), Float).label("minutes"),
        )
        .outerjoin(shops, shops.c.manager_id == Manager.id)
        .outerjoin(visits, visits.c.manager_id == Manager.id)
        .order_by(Manager.employee_no)
    )
    if county is not None:
        statement = statement.where(Manager.county == county)
    return list((await session.execute(statement)).all())
