"""Analytics formulas (pure): rates, repeat warning, Pareto table, trend classification."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

TrendClass = Literal["rising", "declining", "stable", "fluctuating", "insufficient_data"]

# The seeds' advice for each shape of the series.
ADVICE: dict[TrendClass, str] = {
    "declining": "Complaints are falling: keep the measures that improved the service.",
    "stable": "Complaints are flat: look for ways to improve further.",
    "rising": "Complaints are rising: find the cause with concentration and case analysis.",
    "fluctuating": "Complaints come in waves: analyse what drives each wave.",
    "insufficient_data": "Fewer than three periods: not enough data to judge a trend.",
}


def rate(numerator: int, denominator: int) -> float:
    """numerator / denominator, 0 when there is nothing to divide by."""
    return numerator / denominator if denominator else 0.0


def repeat_warning(repeat_rate: float, alert_level: float) -> bool:
    """The repeat rate has reached the alert level."""
    return repeat_rate >= alert_level


@dataclass(frozen=True)
class ParetoRow:
    """One item of a concentration table."""

    key: str
    count: int
    share: float
    cumulative_share: float


def pareto(counts: Sequence[tuple[str, int]]) -> list[ParetoRow]:
    """Rows sorted by count descending (then key) with share and cumulative share."""
    total = sum(count for _, count in counts)
    rows: list[ParetoRow] = []
    running = 0
    for key, count in sorted(counts, key=lambda item: (-item[1], item[0])):
        running += count
        rows.append(ParetoRow(key, count, rate(count, total), rate(running, total)))
    return rows


def classify_trend(rates: Sequence[float]) -> TrendClass:
    """The spec's classification of a series of rates."""
    if len(rates) < 3:
        return "insufficient_data"
    tolerance = 0.05 * (sum(rates) / len(rates))
    signs = []
    for previous, current in itertools.pairwise(rates):
        difference = current - previous
        if abs(difference) > tolerance:
            signs.append(1 if difference > 0 else -1)
    alternations = sum(1 for a, b in itertools.pairwise(signs) if a != b)
    if 1 in signs and -1 in signs and alternations >= 2:
        return "fluctuating"
    net = rates[-1] - rates[0]
    if net > tolerance:
        return "rising"
    if net < -tolerance:
        return "declining"
    return "stable"


@dataclass(frozen=True)
class Change:
    """Change of a period's rate from the previous period."""

    absolute: float | None
    relative: float | None


def changes(rates: Sequence[float]) -> list[Change]:
    """Absolute and relative change of each rate from the one before (None for the first)."""
    result = [Change(None, None)]
    for previous, current in itertools.pairwise(rates):
        result.append(
            Change(current - previous, (current - previous) / previous if previous else None)
        )
    return result[: len(rates)]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolation percentile (as PostgreSQL percentile_cont), None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def period_start(day: date, granularity: str) -> date:
    """The first day of the month or quarter holding `day`."""
    month = day.month if granularity == "month" else 3 * ((day.month - 1) // 3) + 1
    return date(day.year, month, 1)


def next_period(start: date, granularity: str) -> date:
    """The first day of the following month or quarter."""
    step = 1 if granularity == "month" else 3
    month = start.month - 1 + step
    return date(start.year + month // 12, month % 12 + 1, 1)


def periods_between(first: date, last: date, granularity: str) -> list[date]:
    """Starts of every period touching [first, last]."""
    periods = []
    current = period_start(first, granularity)
    while current <= last:
        periods.append(current)
        current = next_period(current, granularity)
    return periods
