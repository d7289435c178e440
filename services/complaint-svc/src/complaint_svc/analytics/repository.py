"""Analytics queries: every aggregation runs in SQL on the indexed columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.analytics.formulas import next_period, period_start
from complaint_svc.complaints.repository import local_day_start
from complaint_svc.readmodel.models import DIMENSIONS

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Window:
    """A company-local date window [first, last] and an optional county / district."""

    first: date
    last: date
    county: str | None = None
    district: str | None = None

    @property
    def start(self) -> datetime:
        """The first moment of the window."""
        return local_day_start(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the window."""
        return local_day_start(self.last + timedelta(days=1))

    def params(self) -> dict[str, Any]:
        """Bind parameters of the window."""
        return {
            "first": self.first,
            "last": self.last,
            "start": self.start,
            "end": self.end,
            "county": self.county,
            "district": self.district,
        }


def _dimension(by: str | None) -> str:
    # `by` is validated against DIMENSIONS (a Literal in the router) before it reaches SQL text.
    if by is None:
        return "'all'"
    if by not in DIMENSIONS:
        raise ValueError(by)
    return f"s.{by}"


_SHOP_FILTER = """
    (CAST(:county AS text) IS NULL OR s.county = :county)
    AND (CAST(:district AS text) IS NULL OR s.district = :district)
"""
_COMPLAINT_FILTER = """
    c.filed_at >= :start AND c.filed_at < :end
    AND (CAST(:county AS text) IS NULL OR c.county = :county)
    AND (CAST(:district AS text) IS NULL OR c.district = :district)
"""
_RATE_COMPLAINT = "c.complainant_type = 'retailer' AND c.company_responsible"


# The distinct complaining shops of a year (~150,000 at full scale) are hashed: let the hash stay
# in memory instead of spilling in batches to disk (the default work_mem is 4 MB).
ANALYTICS_WORK_MEM = "64MB"


async def _roomy(session: AsyncSession) -> None:
    """Give this transaction's hashes room (SET LOCAL: ends with the request's transaction)."""
    await session.execute(text(f"SET LOCAL work_mem = '{ANALYTICS_WORK_MEM}'"))


async def rate_groups(
    session: AsyncSession, window: Window, by: str | None
) -> list[tuple[str, int, int]]:
    """(key, complaining shops, active shops) per group; a shop counts once."""
    await _roomy(session)
    statement = f"""
        WITH active AS (
            SELECT s.customer_id, {_dimension(by)} AS key FROM shops AS s
             WHERE s.active_since <= :last
               AND (s.inactive_since IS NULL OR s.inactive_since >= :first)
               AND {_SHOP_FILTER}
        ), complaining AS (
            SELECT DISTINCT c.customer_id FROM complaints AS c
             WHERE {_RATE_COMPLAINT} AND c.filed_at >= :start AND c.filed_at < :end
               AND c.customer_id IS NOT NULL
        )
        SELECT coalesce(a.key, '{UNKNOWN}'), count(c.customer_id), count(*)
          FROM active AS a LEFT JOIN complaining AS c ON c.customer_id = a.customer_id
         GROUP BY 1 ORDER BY 1
    """
    rows = await session.execute(text(statement), window.params())
    return [(str(key), int(numerator), int(denominator)) for key, numerator, denominator in rows]


async def repeat_counts(session: AsyncSession, window: Window) -> tuple[int, int]:
    """(all complaints, repeat complaints) filed in the window."""
    row = (
        await session.execute(
            text(
                f"""SELECT count(*), count(*) FILTER (WHERE c.is_repeat)
                      FROM complaints AS c WHERE {_COMPLAINT_FILTER}"""
            ),
            window.params(),
        )
    ).one()
    return int(row[0]), int(row[1])


async def concentration_counts(
    session: AsyncSession, window: Window, by: str
) -> list[tuple[str, int]]:
    """Complaints (originals and repeats) per service item or category."""
    column = {"service_item": "c.service_item", "category": "c.category"}[by]
    rows = await session.execute(
        text(
            f"""SELECT {column}, count(*) FROM complaints AS c
                 WHERE {_COMPLAINT_FILTER} GROUP BY 1"""
        ),
        window.params(),
    )
    return [(str(key), int(count)) for key, count in rows]


async def trend_counts(
    session: AsyncSession, window: Window, by: str | None, granularity: str
) -> tuple[list[tuple[date, str, int]], list[tuple[date, str, int]], list[tuple[date, str, int]]]:
    """Complaining shops per (period, key), and shop activity starts / stops per (month, key).

    Denominators come from the month-level start/stop counts (prefix sums in Python) instead
    of joining every shop with every period.
    """
    unit = "month" if granularity == "month" else "quarter"
    key = _dimension(by)
    params: dict[str, Any] = {
        **window.params(),
        "unit": unit,
        "months": 1 if unit == "month" else 3,
    }
    # Whole periods touching the window are counted (the periods listed by the trend).
    params["first_month"] = period_start(window.first, "month")
    params["after_month"] = next_period(period_start(window.last, granularity), granularity)
    period = (
        "c.filed_month" if unit == "month" else "CAST(date_trunc('quarter', c.filed_month) AS date)"
    )
    await _roomy(session)
    complaining = await session.execute(
        text(
            f"""
            WITH pairs AS (
                SELECT {period} AS period, c.customer_id
                  FROM complaints AS c
                 WHERE {_RATE_COMPLAINT}
                   AND c.filed_month >= :first_month AND c.filed_month < :after_month
                   AND c.customer_id IS NOT NULL
                 GROUP BY 1, 2
            )
            SELECT p.period, coalesce({key}, '{UNKNOWN}'), count(*)
              FROM pairs AS p JOIN shops AS s ON s.customer_id = p.customer_id
             WHERE s.active_since
                       < CAST(p.period + make_interval(months => CAST(:months AS int)) AS date)
               AND (s.inactive_since IS NULL OR s.inactive_since >= p.period)
               AND {_SHOP_FILTER}
             GROUP BY 1, 2
            """
        ),
        params,
    )
    starts = await session.execute(
        text(
            f"""SELECT CAST(date_trunc('month', s.active_since) AS date),
                       coalesce({key}, '{UNKNOWN}'), count(*)
                  FROM shops AS s WHERE s.active_since <= :last AND {_SHOP_FILTER}
                 GROUP BY 1, 2"""
        ),
        params,
    )
    stops = await session.execute(
        text(
            f"""SELECT CAST(date_trunc('month', s.inactive_since) AS date),
                       coalesce({key}, '{UNKNOWN}'), count(*)
                  FROM shops AS s
                 WHERE s.inactive_since IS NOT NULL AND s.inactive_since <= :last
                   AND {_SHOP_FILTER}
                 GROUP BY 1, 2"""
        ),
        params,
    )

    def rows(result: Any) -> list[tuple[date, str, int]]:
        return [(day, str(group), int(count)) for day, group, count in result]

    return rows(complaining), rows(starts), rows(stops)


async def overview_figures(session: AsyncSession, window: Window) -> dict[str, Any]:
    """Counts by status, overdue, times to acknowledge / resolve, first-contact resolution."""
    params = window.params()
    by_status = await session.execute(
        text(
            f"SELECT c.status, count(*) FROM complaints AS c WHERE {_COMPLAINT_FILTER} GROUP BY 1"
        ),
        params,
    )
    row = (
        await session.execute(
            text(
                f"""
                SELECT count(*) FILTER (WHERE c.overdue),
                       avg(extract(epoch FROM c.acknowledged_at - c.filed_at)) / 3600,
                       percentile_cont(0.9) WITHIN GROUP
                           (ORDER BY extract(epoch FROM c.acknowledged_at - c.filed_at)) / 3600,
                       avg(extract(epoch FROM c.resolved_at - c.filed_at)) / 3600,
                       percentile_cont(0.9) WITHIN GROUP
                           (ORDER BY extract(epoch FROM c.resolved_at - c.filed_at)) / 3600,
                       count(*) FILTER (WHERE c.resolved_at IS NOT NULL),
                       count(*) FILTER (WHERE c.resolved_at IS NOT NULL
                                          AND c.reassignment_count = 0)
                  FROM complaints AS c WHERE {_COMPLAINT_FILTER}
                """
            ),
            params,
        )
    ).one()
    return {
        "by_status": {str(status): int(count) for status, count in by_status},
        "overdue": int(row[0]),
        "acknowledge_hours_mean": _float(row[1]),
        "acknowledge_hours_p90": _float(row[2]),
        "resolve_hours_mean": _float(row[3]),
        "resolve_hours_p90": _float(row[4]),
        "resolved": int(row[5]),
        "resolved_first_contact": int(row[6]),
    }


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


async def longest_chains(
    session: AsyncSession, window: Window, limit: int
) -> list[tuple[Any, str, str, str, int]]:
    """Chain roots with the most repeats filed in the window: (id, ref, item, category, n)."""
    rows = await session.execute(
        text(
            f"""
            WITH chains AS (
                SELECT c.repeat_of AS root, count(*) AS repeats FROM complaints AS c
                 WHERE c.is_repeat AND {_COMPLAINT_FILTER} GROUP BY 1
                 ORDER BY 2 DESC LIMIT :limit
            )
            SELECT r.id, r.ref, r.service_item, r.category, chains.repeats
              FROM chains JOIN complaints AS r ON r.id = chains.root
             ORDER BY chains.repeats DESC, r.seq
            """
        ),
        {**window.params(), "limit": limit},
    )
    return [tuple(row) for row in rows]


async def item_examples(
    session: AsyncSession, window: Window, items: list[str], per_item: int
) -> list[tuple[Any, str, str, str, int]]:
    """Original complaints of the top items, those with most repeats first."""
    if not items:
        return []
    rows = await session.execute(
        text(
            f"""
            SELECT ranked.id, ranked.ref, ranked.service_item, ranked.category,
                   (SELECT count(*) FROM complaints AS r WHERE r.repeat_of = ranked.id)
              FROM (
                SELECT c.id, c.ref, c.service_item, c.category,
                       row_number() OVER (PARTITION BY c.service_item ORDER BY c.seq) AS n
                  FROM complaints AS c
                 WHERE NOT c.is_repeat AND c.service_item = ANY(:items) AND {_COMPLAINT_FILTER}
              ) AS ranked
             WHERE ranked.n <= :per_item
            """
        ),
        {**window.params(), "items": items, "per_item": per_item * 5},
    )
    found = [tuple(row) for row in rows]
    by_item: dict[str, list[Any]] = {}
    for row in sorted(found, key=lambda row: -row[4]):
        by_item.setdefault(row[2], []).append(row)
    return [row for item in items for row in by_item.get(item, [])[:per_item]]
