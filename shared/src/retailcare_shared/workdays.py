"""Working-day calendar in the company's time zone (pure: no framework imports).

Working days are Monday to Friday, minus configured public holidays, plus configured make-up
working days (调休: a Saturday or Sunday worked in exchange for a holiday bridge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

COMPANY_TIME_ZONE = ZoneInfo("Asia/Shanghai")


def business_today() -> date:
    """Today's date in the company's time zone (orders, visits and runs are dated in it)."""
    return datetime.now(COMPANY_TIME_ZONE).date()


@dataclass(frozen=True)
class WorkCalendar:
    """Which dates are working days."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)
    time_zone: ZoneInfo = COMPANY_TIME_ZONE

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
