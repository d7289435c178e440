"""Business dates are in the company's time zone (Asia/Shanghai); instants are stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from retailcare_shared.workdays import COMPANY_TIME_ZONE as COMPANY_TZ


def utc_now() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)


def business_today(now: datetime | None = None) -> date:
    """Today's date in the company's time zone."""
    return (now or utc_now()).astimezone(COMPANY_TZ).date()


def end_of_business_day(day: date) -> datetime:
    """The first instant after `day` ends in the company's time zone (an exclusive bound)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=COMPANY_TZ)


def start_of_business_day(day: date) -> datetime:
    """The first instant of `day` in the company's time zone."""
    return datetime.combine(day, time.min, tzinfo=COMPANY_TZ)
