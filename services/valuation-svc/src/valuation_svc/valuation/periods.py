"""Half-year evaluation periods (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

PERIOD_PATTERN = re.compile(r"^(\d{4})H([12])$")


@dataclass(frozen=True)
class Period:
    """A half-year: `2026H1` = 1 Jan-30 Jun, `2026H2` = 1 Jul-31 Dec."""

    year: int
    half: int

    @property
    def start(self) -> date:
        """First day of the period."""
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def end(self) -> date:
        """Last day of the period."""
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    def __str__(self) -> str:
        return f"{self.year}H{self.half}"

    def last_year(self) -> Period:
        """The same half-year one year earlier."""
        return Period(self.year - 1, self.half)


def parse_period(text: str) -> Period | None:
    """A period from `YYYYH1|H2`, or None when malformed."""
    match = PERIOD_PATTERN.match(text)
    if match is None:
        return None
    return Period(int(match.group(1)), int(match.group(2)))


def month_start(day: date) -> date:
    """The first day of the day's month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """Shift a date by whole months, clamping the day to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def default_as_of(period: Period, today: date) -> date:
    """A run without `as_of` covers the period up to today (or its end if it is over)."""
    return min(period.end, today)


def licensed_long_enough(licensed_on: date | None, as_of: date) -> bool:
    """Eligible once licensed at least one month before as_of (unknown licence date: eligible)."""
    return licensed_on is None or licensed_on <= add_months(as_of, -1)
