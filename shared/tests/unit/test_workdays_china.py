"""The `china` base calendar: statutory holidays and 调休 from chinesecalendar, overrides on top."""

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from retailcare_shared.workdays import (
    CHINA,
    COMPANY_TIME_ZONE,
    WEEKDAYS,
    statutory_calendar,
    unconfigured_years,
    work_calendar,
    years_deadlines_reach,
)

CHINA_CALENDAR = work_calendar(CHINA)
FIRST_UNCOVERED = max(statutory_calendar().years) + 1


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=COMPANY_TIME_ZONE)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_covered_years_are_exactly_the_packages() -> None:
    years = statutory_calendar().years
    assert years == frozenset(range(min(years), FIRST_UNCOVERED))
    assert {2004, 2026} <= years
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(FIRST_UNCOVERED, 1, 1))


def test_every_covered_day_agrees_with_the_package() -> None:
    years = statutory_calendar().years
    for day in days_between(date(min(years), 1, 1), date(max(years), 12, 31)):
        assert CHINA_CALENDAR.is_working_day(day) == chinese_calendar.is_workday(day), day


def test_spring_festival_2026() -> None:
    # 2026-02-15 (Sun) .. 02-23 (Mon) off; Saturdays 02-14 and 02-28 are make-up working days.
    assert all(
        not CHINA_CALENDAR.is_working_day(day)
        for day in days_between(date(2026, 2, 15), date(2026, 2, 23))
    )
    assert CHINA_CALENDAR.is_working_day(date(2026, 2, 14))  # make-up Saturday
    assert CHINA_CALENDAR.is_working_day(date(2026, 2, 28))  # make-up Saturday
    # The last working day before the holiday + 1 → the first working day after it.
    assert CHINA_CALENDAR.add_working_days(local(2026, 2, 14, 10, 0), 1) == local(2026, 2, 24, 10)
    # Friday 13th + 3: Sat 14th (make-up), Tue 24th, Wed 25th.
    assert CHINA_CALENDAR.add_working_days(local(2026, 2, 13, 16, 0), 3) == local(2026, 2, 25, 16)
    # Filed during the holiday: counted from the start of Tuesday 24th.
    assert CHINA_CALENDAR.add_working_days(local(2026, 2, 18, 9, 0), 1) == local(2026, 2, 25, 0)


def test_mid_autumn_and_national_day_2026() -> None:
    # Mid-Autumn 09-25 (Fri) .. 09-27; National Day 10-01 (Thu) .. 10-07; Sun 09-20 and Sat
    # 10-10 are worked instead.
    assert CHINA_CALENDAR.is_working_day(date(2026, 9, 20))
    assert not CHINA_CALENDAR.is_working_day(date(2026, 9, 25))
    assert CHINA_CALENDAR.add_working_days(local(2026, 9, 24, 11, 0), 1) == local(2026, 9, 28, 11)
    # Wednesday 30 Sept + 5: Thu 8, Fri 9, Sat 10 (make-up), Mon 12, Tue 13 October.
    assert CHINA_CALENDAR.add_working_days(local(2026, 9, 30, 10, 0), 5) == local(2026, 10, 13, 10)
    assert CHINA_CALENDAR.add_working_days(local(2026, 9, 30, 10, 0), 3) == local(2026, 10, 10, 10)


def test_configured_lists_override_the_package() -> None:
    calendar = work_calendar(
        CHINA,
        # Company days off: a statutory make-up Saturday and an ordinary Wednesday.
        holidays=frozenset({date(2026, 2, 28), date(2026, 3, 4)}),
        # The company works the last day of the statutory holiday.
        makeup_workdays=frozenset({date(2026, 2, 23)}),
    )
    assert calendar.is_working_day(date(2026, 2, 23))
    assert not calendar.is_working_day(date(2026, 2, 28))
    assert not calendar.is_working_day(date(2026, 3, 4))
    assert not calendar.is_working_day(date(2026, 2, 22))  # the rest of the holiday stays
    assert calendar.add_working_days(local(2026, 2, 14, 10, 0), 1) == local(2026, 2, 23, 10)


def test_weekdays_base_ignores_the_package() -> None:
    calendar = work_calendar(WEEKDAYS, holidays=frozenset({date(2026, 2, 17)}))
    assert calendar.is_working_day(date(2026, 2, 16))  # Spring Festival Monday
    assert not calendar.is_working_day(date(2026, 2, 14))  # no make-up Saturday
    assert not calendar.is_working_day(date(2026, 2, 17))  # configured
    assert calendar.add_working_days(local(2026, 2, 13, 10, 0), 1) == local(2026, 2, 16, 10)
    assert unconfigured_years(calendar, WEEKDAYS, [2026, FIRST_UNCOVERED]) == []


def test_an_uncovered_year_is_weekdays_plus_the_configured_lists() -> None:
    year = FIRST_UNCOVERED
    assert all(
        CHINA_CALENDAR.is_working_day(day) == (day.weekday() < 5)
        for day in days_between(date(year, 1, 1), date(year, 12, 31))
    )
    assert unconfigured_years(CHINA_CALENDAR, CHINA, [year - 1, year]) == [year]
    new_year = date(year, 1, 1) if date(year, 1, 1).weekday() < 5 else date(year, 1, 4)
    configured = work_calendar(CHINA, holidays=frozenset({new_year}))
    assert not configured.is_working_day(new_year)
    assert unconfigured_years(configured, CHINA, [year - 1, year]) == []


def test_deadlines_reach_into_next_year() -> None:
    assert years_deadlines_reach(date(2026, 12, 7)) == [2026, 2027]
