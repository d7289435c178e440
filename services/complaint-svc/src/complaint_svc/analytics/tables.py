"""Analytics answers flattened into download tables (one row per group, period or item)."""

from __future__ import annotations

from collections.abc import Sequence

from complaint_svc.analytics.schemas import ConcentrationOut, RateOut, TrendOut, TrendSeries
from retailcare_shared.exports import Row

# The key of the row that sums every group up (a group key is never in parentheses).
TOTAL = "(total)"

Flat = tuple[list[str], list[Row]]


def rate_table(answer: RateOut) -> Flat:
    """Complaint rate per group of `by`, then the total row."""
    headers = [answer.by or "scope", "complaining_customers", "customers", "rate"]
    rows: list[Row] = [
        [group.key, group.complaining_customers, group.customers, group.rate]
        for group in answer.groups
    ]
    total = answer.total
    rows.append([TOTAL, total.complaining_customers, total.customers, total.rate])
    return headers, rows


def concentration_table(answer: ConcentrationOut) -> Flat:
    """The Pareto table, then the total row."""
    headers = [answer.by, "count", "share", "cumulative_share"]
    rows: list[Row] = [[row.key, row.count, row.share, row.cumulative_share] for row in answer.rows]
    rows.append([TOTAL, answer.total, 1.0 if answer.total else None, None])
    return headers, rows


_TREND_COLUMNS = [
    "period",
    "complaining_customers",
    "customers",
    "rate",
    "change",
    "relative_change",
    "classification",
]


def _series_rows(key: str, series: TrendSeries) -> Sequence[Row]:
    return [
        [
            key,
            period.period,
            period.complaining_customers,
            period.customers,
            period.rate,
            period.change,
            period.relative_change,
            series.classification,
        ]
        for period in series.periods
    ]


def trend_table(answer: TrendOut) -> Flat:
    """One row per period: the whole scope's series first, then each group's."""
    headers = [answer.by or "scope", *_TREND_COLUMNS]
    rows = [*_series_rows(TOTAL, answer)]
    for group in answer.groups:
        rows.extend(_series_rows(group.key, group))
    return headers, rows
