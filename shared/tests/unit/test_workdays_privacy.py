"""Working-day arithmetic across weekends, holidays and make-up days; masking of personal data."""

from datetime import UTC, date, datetime

from retailcare_shared.privacy import mask_name, mask_phone
from retailcare_shared.workdays import COMPANY_TIME_ZONE, WorkCalendar, parse_dates

# A configured calendar on the Mon-Fri base (not the statutory 2026 one, see test_workdays_china):
# 2026-10-01 (Thu) .. 10-07 off; Sunday 2026-09-27 and Saturday 10-10 worked instead.
CALENDAR = WorkCalendar(
    holidays=parse_dates("2026-10-01,2026-10-02,2026-10-05,2026-10-06,2026-10-07"),
    makeup_workdays=parse_dates("2026-09-27, 2026-10-10"),
)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=COMPANY_TIME_ZONE)


def test_weekday_rules() -> None:
    assert CALENDAR.is_working_day(date(2026, 11, 23))  # Monday
    assert not CALENDAR.is_working_day(date(2026, 11, 22))  # Sunday
    assert not CALENDAR.is_working_day(date(2026, 10, 1))  # holiday
    assert CALENDAR.is_working_day(date(2026, 9, 27))  # make-up Sunday


def test_friday_plus_one_working_day_is_monday() -> None:
    assert CALENDAR.add_working_days(local(2026, 11, 20, 15, 30), 1) == local(2026, 11, 23, 15, 30)


def test_deadline_spanning_a_weekend_and_a_holiday() -> None:
    # Wednesday 30 Sept + 5 working days: Oct 1-2 holiday, 3-4 weekend, 5-7 holiday,
    # Oct 8 (Thu), 9 (Fri), 10 (make-up Sat), 12 (Mon), 13 (Tue).
    assert CALENDAR.add_working_days(local(2026, 9, 30, 10, 0), 5) == local(2026, 10, 13, 10, 0)


def test_start_on_a_holiday_counts_from_the_next_working_day() -> None:
    assert CALENDAR.add_working_days(local(2026, 10, 3, 18, 0), 1) == local(2026, 10, 9, 0, 0)


def test_time_zone_of_the_start_is_kept() -> None:
    start = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)  # Friday 15:30 in Shanghai
    assert CALENDAR.add_working_days(start, 1) == datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def test_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345") == "*****"
    assert mask_name("张三丰") == "张**"
    assert mask_name(None) is None
