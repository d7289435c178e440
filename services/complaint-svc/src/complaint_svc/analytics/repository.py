"""Analytics queries: whole months from the pre-aggregates, partial months from raw rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from complaint_svc.analytics.formulas import next_period, period_start, periods_between
from complaint_svc.analytics.windows import month_bits, period_offset, split_window
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


# The distinct complaining shops of the raw edge days can run to tens of thousands: let their
# hash stay in memory instead of spilling in batches to disk (the default work_mem is 4 MB).
ANALYTICS_WORK_MEM = "64MB"


async def _roomy(session: AsyncSession) -> None:
    """Give this transaction's hashes room (SET LOCAL: ends with the request's transaction)."""
    await session.execute(text(f"SET LOCAL work_mem = '{ANALYTICS_WORK_MEM}'"))


# --- Pre-aggregates (migration 0003): month counters + deltas, shops.complaint_months ----------

# Advisory lock of the counters' maintenance (the same key as migration 0003's ADVISORY_KEY).
FOLD_LOCK = 0x636F6D706C4D43
_GROUP = "month, county, district, category, service_item, is_repeat"
# Intake only appends deltas (no shared row to wait on); this moves them into the counters.
# Rows appended by transactions not yet committed stay for the next fold, so reading counters +
# remaining deltas in one statement is always exact.
_FOLD = f"""
    WITH moved AS (
        DELETE FROM complaint_count_deltas RETURNING {_GROUP}, complaints
    )
    INSERT INTO complaint_month_counts AS t ({_GROUP}, complaints)
    SELECT {_GROUP}, sum(complaints) FROM moved
     GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ({_GROUP}) DO UPDATE SET complaints = t.complaints + excluded.complaints
"""


async def fold_deltas(session: AsyncSession) -> bool:
    """Fold pending counter deltas into the month counters; False if another fold holds the lock.

    Runs in the caller's transaction (the analytics request's): readers meanwhile still see
    the unfolded deltas, which every count query adds.
    """
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FOLD_LOCK}
    )
    if not locked:
        return False
    await session.execute(text(_FOLD))
    return True


async def rebuild_aggregates(session: AsyncSession) -> None:
    """Recompute every pre-aggregate from the raw complaints (bulk loads, repairs)."""
    await session.execute(text("SELECT complaint_analytics_rebuild()"))


_COUNT_FILTER = """
    (CAST(:county AS text) IS NULL OR m.county = :county)
    AND (CAST(:district AS text) IS NULL OR m.district = :district)
"""


def _counted(window: Window, column: str, params: dict[str, Any]) -> str:
    """A UNION ALL of (column, n) rows: whole months from counters and deltas, edges raw."""
    split = split_window(window.first, window.last)
    parts = []
    if split.has_months:
        params["months_from"] = split.months_from
        params["months_to"] = split.months_to
        parts += [
            f"""SELECT m.{column} AS key, m.complaints AS n FROM {table} AS m
                 WHERE m.month >= :months_from AND m.month < :months_to AND {_COUNT_FILTER}"""
            for table in ("complaint_month_counts", "complaint_count_deltas")
        ]
    for index, (first, after) in enumerate(split.edges):
        params[f"edge_from{index}"] = local_day_start(first)
        params[f"edge_to{index}"] = local_day_start(after)
        parts.append(
            f"""SELECT m.{column} AS key, 1 AS n FROM complaints AS m
                 WHERE m.filed_at >= :edge_from{index} AND m.filed_at < :edge_to{index}
                   AND {_COUNT_FILTER}"""
        )
    return " UNION ALL ".join(parts)


def _complained(window: Window, params: dict[str, Any]) -> str:
    """Condition on a shop row `s`: a rate-counting complaint was filed in the window."""
    split = split_window(window.first, window.last)
    terms = []
    if split.has_months:
        bits = month_bits(split.months_from, split.months_to)
        for index, (year, mask) in enumerate(bits.items()):
            params[f"year{index}"] = year
            params[f"mask{index}"] = mask
            terms.append(f"(s.complaint_months[:year{index}] & :mask{index}) <> 0")
    if split.edges:
        ranges = []
        for index, (first, after) in enumerate(split.edges):
            params[f"edge_from{index}"] = local_day_start(first)
            params[f"edge_to{index}"] = local_day_start(after)
            ranges.append(f"(c.filed_at >= :edge_from{index} AND c.filed_at < :edge_to{index})")
        terms.append(
            f"""s.customer_id IN (
                    SELECT c.customer_id FROM complaints AS c
                     WHERE {_RATE_COMPLAINT} AND c.customer_id IS NOT NULL
                       AND ({" OR ".join(ranges)}))"""
        )
    return " OR ".join(terms)


async def rate_groups(
    session: AsyncSession, window: Window, by: str | None
) -> list[tuple[str, int, int]]:
    """(key, complaining shops, active shops) per group; a shop counts once.

    One pass over the shops: whole months from each shop's complaint-month bits, the window's
    partial months from the raw complaints of those days.
    """
    await _roomy(session)
    params = window.params()
    statement = f"""
        SELECT coalesce({_dimension(by)}, '{UNKNOWN}'),
               count(*) FILTER (WHERE {_complained(window, params)}), count(*)
          FROM shops AS s
         WHERE s.active_since <= :last
           AND (s.inactive_since IS NULL OR s.inactive_since >= :first)
           AND {_SHOP_FILTER}
         GROUP BY 1 ORDER BY 1
    """
    rows = await session.execute(text(statement), params)
    return [(str(key), int(numerator), int(denominator)) for key, numerator, denominator in rows]


async def repeat_counts(session: AsyncSession, window: Window) -> tuple[int, int]:
    """(all complaints, repeat complaints) filed in the window."""
    params = window.params()
    row = (
        await session.execute(
            text(
                f"""SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE key), 0)
                      FROM ({_counted(window, "is_repeat", params)}) AS counted"""
            ),
            params,
        )
    ).one()
    return int(row[0]), int(row[1])


async def concentration_counts(
    session: AsyncSession, window: Window, by: str
) -> list[tuple[str, int]]:
    """Complaints (originals and repeats) per service item or category."""
    column = {"service_item": "service_item", "category": "category"}[by]
    params = window.params()
    rows = await session.execute(
        text(
            f"""SELECT key, sum(n) FROM ({_counted(window, column, params)}) AS counted
                 GROUP BY 1 HAVING sum(n) > 0"""
        ),
        params,
    )
    return [(str(key), int(count)) for key, count in rows]


def _quarters(months: str) -> str:
    """Bits of the quarters (bit q = quarter q+1) with any of the given 12 month bits set."""
    # PostgreSQL gives `|`, `&` and `<<` one precedence, left to right: parenthesise each term.
    return " | ".join(
        f"(CAST((({months}) & {7 << 3 * quarter}) <> 0 AS int) << {quarter})"
        for quarter in range(4)
    )


@dataclass(frozen=True)
class TrendCounts:
    """Per group key: complaining shops per period, and activity starts / stops by period."""

    complaining: dict[str, list[int]]
    started: dict[str, list[tuple[int, int]]]
    stopped: dict[str, list[tuple[int, int]]]


async def trend_counts(
    session: AsyncSession, window: Window, by: str | None, granularity: str
) -> TrendCounts:
    """Complaining shops per (key, period) and shop activity starts / stops per (key, period).

    Periods are the whole months or quarters touching the window; complaints count from the
    window's first month. Each shop's periods with a complaint while it was active become one
    bit mask, so the shops are read once and grouped by (key, start, stop, mask).
    """
    periods = periods_between(window.first, window.last, granularity)
    ends = [*periods[1:], next_period(periods[-1], granularity)]
    key = _dimension(by)
    params: dict[str, Any] = {
        **window.params(),
        "starts": periods,
        "ends": ends,
        "last_period": len(periods) - 1,
    }
    # Whole periods touching the window are listed; complaints count from the first's month.
    bits = month_bits(period_start(window.first, "month"), ends[-1])
    terms = []
    for index, (year, mask) in enumerate(bits.items()):
        params[f"year{index}"] = year
        params[f"mask{index}"] = mask
        months = f"coalesce(s.complaint_months[:year{index}], 0) & :mask{index}"
        year_bits = months if granularity == "month" else _quarters(months)
        offset = period_offset(year, granularity, periods[0])
        shift = f"<< {offset}" if offset >= 0 else f">> {-offset}"
        terms.append(f"(CAST(({year_bits}) AS bigint) {shift})")
    per_period = ", ".join(
        f"coalesce(sum(shops) FILTER (WHERE (periods >> {index}) & 1 = 1), 0)"
        for index in range(len(periods))
    )
    await _roomy(session)
    rows = await session.execute(
        text(
            f"""
            WITH marked AS (
                SELECT coalesce({key}, '{UNKNOWN}') AS key,
                       -- Denominators as before: a start (on or before the window's last day)
                       -- counts from the period holding it, a stop (likewise) from the first
                       -- period starting after it.
                       CASE WHEN s.active_since <= :last THEN r.from_period END AS started,
                       CASE WHEN s.inactive_since <= :last
                            THEN width_bucket(s.inactive_since, CAST(:starts AS date[])) END
                           AS stopped,
                       -- Periods with a complaint & periods from_period..to_period (none
                       -- when from > to); each bound used once, as the planner inlines them.
                       ({" | ".join(terms)})
                       & ((CAST(1 AS bigint) << (r.to_period + 1)) - 1)
                       & ~((CAST(1 AS bigint) << r.from_period) - 1) AS periods
                  FROM shops AS s
                 CROSS JOIN LATERAL (
                       -- Active in period i: started before its end, not stopped before it.
                       SELECT width_bucket(s.active_since, CAST(:ends AS date[])) AS from_period,
                              coalesce(width_bucket(s.inactive_since, CAST(:starts AS date[])) - 1,
                                       :last_period) AS to_period) AS r
                 WHERE (s.active_since <= :last OR s.inactive_since <= :last
                        OR s.complaint_months IS NOT NULL)
                   AND {_SHOP_FILTER}
            ), grouped AS (
                SELECT key, started, stopped, periods, count(*) AS shops FROM marked
                 GROUP BY 1, 2, 3, 4
            )
            SELECT key, started, stopped, sum(shops), ARRAY[{per_period}]
              FROM grouped GROUP BY 1, 2, 3
            """
        ),
        params,
    )
    counts = TrendCounts({}, {}, {})
    for group, start, stop, shops, complaining in rows:
        group = str(group)
        if start is not None:
            counts.started.setdefault(group, []).append((int(start), int(shops)))
        if stop is not None:
            counts.stopped.setdefault(group, []).append((int(stop), int(shops)))
        if any(complaining):
            totals = counts.complaining.setdefault(group, [0] * len(periods))
            for index, count in enumerate(complaining):
                totals[index] += int(count)
    return counts


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
