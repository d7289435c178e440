"""How a date window maps onto the pre-aggregates (pure): whole months, raw edges, month bits.

The pre-aggregates are kept per company-local calendar month (`filed_month`); a window's whole
months are read from them and the days of its partial first and last months from raw rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from complaint_svc.analytics.formulas import next_period, period_start


@dataclass(frozen=True)
class Split:
    """A window [first, last] as whole months [months_from, months_to) plus raw day ranges."""

    months_from: date
    months_to: date
    # Company-local day ranges [start, after) not covered by whole months.
    edges: tuple[tuple[date, date], ...]

    @property
    def has_months(self) -> bool:
        """True when at least one whole month lies in the window."""
        return self.months_from < self.months_to


def split_window(first: date, last: date) -> Split:
    """Split [first, last] into its whole calendar months and the partial months' days."""
    after = last + timedelta(days=1)
    months_from = first if first.day == 1 else next_period(period_start(first, "month"), "month")
    months_to = period_start(after, "month")
    if months_from >= months_to:
        return Split(months_to, months_to, ((first, after),))
    edges = tuple(
        (start, end) for start, end in ((first, months_from), (months_to, after)) if start < end
    )
    return Split(months_from, months_to, edges)


def month_bits(start: date, after: date) -> dict[int, int]:
    """Per year, the 12-bit mask (bit m-1 = month m) of the months in [start, after)."""
    bits: dict[int, int] = {}
    current = period_start(start, "month")
    while current < after:
        bits[current.year] = bits.get(current.year, 0) | 1 << (current.month - 1)
        current = next_period(current, "month")
    return bits


def period_offset(year: int, granularity: str, first_period: date) -> int:
    """Where the bits of `year` (months, or quarters) land in a mask of periods from the first."""
    if granularity == "month":
        return 12 * (year - first_period.year) - (first_period.month - 1)
    return 4 * (year - first_period.year) - (first_period.month - 1) // 3


def active_per_period(
    periods: int, started: list[tuple[int, int]], stopped: list[tuple[int, int]]
) -> list[int]:
    """Shops active per period from (first period counted, shops) starts and stops.

    A start counts from its period on, a stop removes the shop from its period on (so a shop
    that stopped after the window's last day still counts everywhere).
    """
    result = []
    for index in range(periods):
        began = sum(count for period, count in started if period <= index)
        ended = sum(count for period, count in stopped if period <= index)
        result.append(began - ended)
    return result
