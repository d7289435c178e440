"""Every query of visits and the coverage report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from customer_svc.customers.models import Customer
from customer_svc.visits.models import Visit

COVERAGE = text(
    """
    WITH period_visits AS (
        SELECT manager_id, customer_id, minutes, perfunctory
        FROM visits
        WHERE started_at >= :start AND started_at < :end
    ), visit_stats AS (
        SELECT manager_id, count(*) AS visits, sum(minutes) AS minutes,
               count(*) FILTER (WHERE perfunctory) AS perfunctory
        FROM period_visits GROUP BY manager_id
    ), shop_stats AS (
        SELECT c.manager_id,
               count(*) AS assigned,
               count(*) FILTER (WHERE c.scale = 'small') AS small,
               count(*) FILTER (WHERE seen.customer_id IS NOT NULL) AS visited,
               count(*) FILTER (WHERE c.scale = 'small' AND seen.customer_id IS NOT NULL)
                   AS small_visited
        FROM customers c
        LEFT JOIN (SELECT DISTINCT manager_id, customer_id FROM period_visits) seen
               ON seen.manager_id = c.manager_id AND seen.customer_id = c.id
        WHERE c.status <> 'exited' AND c.manager_id IS NOT NULL
        GROUP BY c.manager_id
    )
    SELECT m.id, m.employee_no, m.name,
           coalesce(s.assigned, 0) AS assigned, coalesce(s.visited, 0) AS visited,
           coalesce(s.small, 0) AS small, coalesce(s.small_visited, 0) AS small_visited,
           coalesce(v.visits, 0) AS visits, coalesce(v.minutes, 0) AS minutes,
           coalesce(v.perfunctory, 0) AS perfunctory
    FROM managers m
    LEFT JOIN shop_stats s ON s.manager_id = m.id
    LEFT JOIN visit_stats v ON v.manager_id = m.id
    WHERE CAST(:county AS text) IS NULL OR m.county = CAST(:county AS text)
    ORDER BY m.employee_no
    """
)


def search(
    manager_id: uuid.UUID | None,
    customer_id: uuid.UUID | None,
    start: datetime | None,
    end: datetime | None,
    county: str | None,
) -> Select[Any]:
    """Visits matching the filters (paging applied by the caller)."""
    statement = select(Visit)
    if county is not None:
        statement = statement.join(Customer, Customer.id == Visit.customer_id).where(
            Customer.county == county
        )
    if manager_id is not None:
        statement = statement.where(Visit.manager_id == manager_id)
    if customer_id is not None:
        statement = statement.where(Visit.customer_id == customer_id)
    if start is not None:
        statement = statement.where(Visit.started_at >= start)
    if end is not None:
        statement = statement.where(Visit.started_at < end)
    return statement


async def get(session: AsyncSession, visit_id: uuid.UUID) -> tuple[Visit, str] | None:
    """A visit with its shop's county (for the caller's county scope)."""
    row = (
        await session.execute(
            select(Visit, Customer.county)
            .join(Customer, Customer.id == Visit.customer_id)
            .where(Visit.id == visit_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def coverage(
    session: AsyncSession, county: str | None, start: datetime, end: datetime
) -> list[Any]:
    """Per manager: assigned and visited shops (all and small), visits, minutes, perfunctory."""
    result = await session.execute(COVERAGE, {"county": county, "start": start, "end": end})
    return list(result.all())
