"""Queries of managers and the workload report (set-based: one statement per report)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.customers.models import Customer
from customer_svc.managers.models import Manager
from customer_svc.visits.models import Visit


async def employee_no_taken(session: AsyncSession, employee_no: str) -> bool:
    """Whether a manager already has this employee number."""
    found = await session.scalar(select(Manager.id).where(Manager.employee_no == employee_no))
    return found is not None


async def get(session: AsyncSession, manager_id: uuid.UUID) -> Manager | None:
    """A manager by id."""
    return await session.get(Manager, manager_id)


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
