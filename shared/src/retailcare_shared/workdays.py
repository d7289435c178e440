"""Working-day calendar in the company's time zone (pure: no framework imports).

Working days are Monday to Friday, minus public holidays, plus make-up working days (调休: a
Saturday or Sunday worked in exchange for a holiday bridge). The `china` base calendar takes the
statutory holidays and make-up days from the `chinesecalendar` package for the years it covers;
the configured lists override it. Everything is precomputed into two sets, so a lookup is O(1).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

COMPANY_TIME_ZONE = ZoneInfo("Asia/Shanghai")

WorkdayBase = Literal["china", "weekdays"]
CHINA: WorkdayBase = "china"
WEEKDAYS: WorkdayBase = "weekdays"


def business_today() -> date:
    """Today's date in the company's time zone (orders, visits and runs are dated in it)."""
    return datetime.now(COMPANY_TIME_ZONE).date()


@dataclass(frozen=True)
class WorkCalendar:
    """Which dates are working days."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)
    time_zone: ZoneInfo = COMPANY_TIME_ZONE
    # Years whose statutory calendar is included (empty: Mon-Fri plus the lists only).
    statutory_years: frozenset[int] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        """True on a weekday that is not a holiday, or on a make-up working day."""
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        candidate = day + timedelta(days=1)
        while not self.is_working_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` working days after `start`, in the time zone of `start`.

        Time spent on non-working days does not count: a start on a holiday or weekend counts
        from the beginning of the next working day. The time of day is kept.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        local = start.astimezone(self.time_zone)
        if not self.is_working_day(local.date()):
            local = datetime.combine(self.next_working_day(local.date()), time(0), self.time_zone)
        day = local.date()
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(
            day, local.timetz().replace(tzinfo=None), self.time_zone
        ).astimezone(start.tzinfo)


def parse_dates(text: str) -> frozenset[date]:
    """Dates from a comma-separated `YYYY-MM-DD` list (how calendars come from settings)."""
    return frozenset(date.fromisoformat(part.strip()) for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class StatutoryCalendar:
    """China's statutory holidays and make-up working days, as published by the State Council."""

    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    years: frozenset[int]


@functools.cache
def statutory_calendar() -> StatutoryCalendar:
    """The `chinesecalendar` package's data, read once per process (it covers whole years)."""
    holidays = frozenset(chinese_calendar.holidays)
    makeup = frozenset(chinese_calendar.workdays)
    # The package refuses dates outside [first year, last year] of its holiday table.
    first, last = min(holidays).year, max(holidays).year
    return StatutoryCalendar(holidays, makeup, frozenset(range(first, last + 1)))


def work_calendar(
    base: WorkdayBase,
    holidays: frozenset[date] = frozenset(),
    makeup_workdays: frozenset[date] = frozenset(),
) -> WorkCalendar:
    """The `base` calendar with the configured holidays and make-up days overriding it.

    A configured make-up day is a working day even where the statutory calendar has a holiday;
    a configured holiday is a day off even where it has a make-up day. Years the package does
    not cover are Mon-Fri plus the configured lists.
    """
    if base == WEEKDAYS:
        return WorkCalendar(holidays=holidays, makeup_workdays=makeup_workdays)
    statutory = statutory_calendar()
    return WorkCalendar(
        holidays=(statutory.holidays - makeup_workdays) | holidays,
        makeup_workdays=(statutory.makeup_workdays - holidays) | makeup_workdays,
        statutory_years=statutory.years,
    )


def unconfigured_years(
    calendar: WorkCalendar, base: WorkdayBase, years: Iterable[int]
) -> list[int]:
    """Of `years`, those the `china` base does not cover and no configured date falls in.

    Deadlines in them only skip weekends: operators should configure their holidays.
    """
    if base != CHINA:
        return []
    # The package has no dates in a year it does not cover: any date there was configured.
    configured = {day.year for day in calendar.holidays | calendar.makeup_workdays}
    return sorted(
        year
        for year in set(years)
        if year not in calendar.statutory_years and year not in configured
    )


def years_deadlines_reach(today: date) -> list[int]:
    """This year and the next: a deadline set in late December falls in January."""
    return [today.year, today.year + 1]


def overlapping_dates(holidays: str, makeup_workdays: str) -> list[date]:
    """Dates configured both as a holiday and as a make-up working day (a contradiction)."""
    return sorted(parse_dates(holidays) & parse_dates(makeup_workdays))
