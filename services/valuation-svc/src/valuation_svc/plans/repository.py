"""Queries behind service plans, sales anomalies and manager workload (set-based)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from valuation_svc.plans.rules import ANOMALY_THRESHOLD
from valuation_svc.valuation.periods import add_months

# Per shop: latest classification, last complete month's cartons and orders, the average of the
# three months before, and open complaints — one row per shop, no per-shop queries.
FACTS_SQL = """
SELECT s.customer_id, s.licensed_on, s.order_method, l.value_class, l.quadrant, l.run_id, l.period,
       COALESCE(last.cartons, 0) AS last_cartons, COALESCE(last.orders, 0) AS last_orders,
       COALESCE(before.total, 0) AS before_total,
       (SELECT count(*) FROM complaints c WHERE c.customer_id = s.customer_id AND c.open)
           AS open_complaints
FROM shops s
LEFT JOIN shop_latest l ON l.customer_id = s.customer_id
LEFT JOIN shop_months last ON last.customer_id = s.customer_id AND last.month = :month
LEFT JOIN (SELECT customer_id, sum(cartons) AS total FROM shop_months
           WHERE month BETWEEN :before_first AND :before_last GROUP BY customer_id) before
       ON before.customer_id = s.customer_id
WHERE {where}
"""


def _months(month: date) -> dict[str, date]:
    return {
        "month": month,
        "before_first": add_months(month, -3),
        "before_last": add_months(month, -1),
    }


async def shop_facts(session: AsyncSession, customer_id: uuid.UUID, month: date) -> Any:
    """Plan facts of one shop."""
    sql = FACTS_SQL.format(where="s.customer_id = :customer_id")
    result = await session.execute(text(sql), {**_months(month), "customer_id": customer_id})
    return result.mappings().first()


async def manager_facts(session: AsyncSession, manager_id: uuid.UUID, month: date) -> list[Any]:
    """Plan facts of every shop of a manager (one query)."""
    sql = FACTS_SQL.format(where="s.manager_id = :manager_id AND s.status = 'active'")
    result = await session.execute(text(sql), {**_months(month), "manager_id": manager_id})
    return list(result.mappings().all())


async def anomalies(
    session: AsyncSession,
    month: date,
    *,
    county: str | None,
    manager_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Any]:
    """Shops whose month's cartons differ from the 3 months before by more than 30%."""
    sql = """
SELECT s.customer_id, s.county, s.manager_id, COALESCE(last.cartons, 0) AS cartons,
       before.total / 3.0 AS average,
       (COALESCE(last.cartons, 0) - before.total / 3.0) / (before.total / 3.0) AS change
FROM (SELECT customer_id, sum(cartons) AS total FROM shop_months
      WHERE month BETWEEN :before_first AND :before_last GROUP BY customer_id) before
JOIN shops s ON s.customer_id = before.customer_id
LEFT JOIN shop_months last ON last.customer_id = before.customer_id AND last.month = :month
WHERE before.total > 0
  AND abs(COALESCE(last.cartons, 0) - before.total / 3.0) > :threshold * (before.total / 3.0)
  AND (CAST(:county AS text) IS NULL OR s.county = :county)
  AND (CAST(:manager_id AS uuid) IS NULL OR s.manager_id = :manager_id)
  AND (CAST(:after AS uuid) IS NULL OR s.customer_id > :after)
ORDER BY s.customer_id
LIMIT :limit
"""
    result = await session.execute(
        text(sql),
        {
            **_months(month),
            "threshold": ANOMALY_THRESHOLD,
            "county": county,
            "manager_id": manager_id,
            "after": after,
            "limit": limit,
        },
    )
    return list(result.mappings().all())
