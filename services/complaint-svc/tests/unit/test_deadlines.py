"""Due times by priority on the working-day calendar (weekends, holidays, make-up days)."""

from datetime import date, datetime, timedelta

from complaint_svc.deadlines.calendar import DeadlinePolicy, due_times
from retailcare_shared.workdays import (
    CHINA,
    COMPANY_TIME_ZONE,
    WorkCalendar,
    statutory_calendar,
    work_calendar,
)

SHANGHAI = COMPANY_TIME_ZONE
CHINA_CALENDAR = work_calendar(CHINA)


def test_normal_deadline_spans_a_weekend_and_a_holiday() -> None:
    # Filed Thursday 2026-10-01 is a holiday in this calendar; Friday 10-02 too; then a weekend.
    calendar = WorkCalendar(holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}))
    filed = datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI)  # Wednesday afternoon
    deadlines = due_times(filed, "normal", DeadlinePolicy(), calendar)
    # 1 working day: Thu/Fri holidays, Sat/Sun weekend → Monday 10-05 15:00.
    assert deadlines.acknowledge_due_at == datetime(2026, 10, 5, 15, 0, tzinfo=SHANGHAI)
    # 5 working days: Mon 10-05 … Fri 10-09 → Friday 15:00.
    assert deadlines.resolve_due_at == datetime(2026, 10, 9, 15, 0, tzinfo=SHANGHAI)


def test_makeup_working_day_counts() -> None:
    calendar = WorkCalendar(makeup_workdays=frozenset({date(2026, 10, 10)}))  # a Saturday
    filed = datetime(2026, 10, 9, 9, 30, tzinfo=SHANGHAI)  # Friday
    deadlines = due_times(filed, "normal", DeadlinePolicy(), calendar)
    assert deadlines.acknowledge_due_at == datetime(2026, 10, 10, 9, 30, tzinfo=SHANGHAI)


def test_urgent_acknowledge_in_two_hours_resolve_next_working_day() -> None:
    filed = datetime(2026, 11, 20, 17, 0, tzinfo=SHANGHAI)  # Friday
    deadlines = due_times(filed, "urgent", DeadlinePolicy(), WorkCalendar())
    assert deadlines.acknowledge_due_at - filed == timedelta(hours=2)
    assert deadlines.resolve_due_at == datetime(2026, 11, 23, 17, 0, tzinfo=SHANGHAI)


def test_filed_on_a_weekend_counts_from_the_next_working_day() -> None:
    filed = datetime(2026, 11, 21, 11, 0, tzinfo=SHANGHAI)  # Saturday
    deadlines = due_times(filed, "normal", DeadlinePolicy(), WorkCalendar())
    # Counting starts Monday 00:00; one working day later is Tuesday 00:00.
    assert deadlines.acknowledge_due_at == datetime(2026, 11, 24, 0, 0, tzinfo=SHANGHAI)


def test_spring_festival_2026_deadlines_fall_after_the_holiday() -> None:
    # Statutory: 2026-02-15 (Sun) .. 02-23 (Mon) off; Saturdays 02-14 and 02-28 worked (调休).
    filed = datetime(2026, 2, 14, 10, 0, tzinfo=SHANGHAI)  # the last working day before it
    normal = due_times(filed, "normal", DeadlinePolicy(), CHINA_CALENDAR)
    # 1 working day → Tuesday 24th; 5 → 24, 25, 26, 27 and the make-up Saturday 28th.
    assert normal.acknowledge_due_at == datetime(2026, 2, 24, 10, 0, tzinfo=SHANGHAI)
    assert normal.resolve_due_at == datetime(2026, 2, 28, 10, 0, tzinfo=SHANGHAI)
    urgent = due_times(filed, "urgent", DeadlinePolicy(), CHINA_CALENDAR)
    assert urgent.acknowledge_due_at == datetime(2026, 2, 14, 12, 0, tzinfo=SHANGHAI)
    assert urgent.resolve_due_at == datetime(2026, 2, 24, 10, 0, tzinfo=SHANGHAI)
    holidays = statutory_calendar().holidays
    for due in (normal.acknowledge_due_at, normal.resolve_due_at, urgent.resolve_due_at):
        assert due.date() not in holidays


def test_national_day_2026_deadlines() -> None:
    # 10-01 (Thu) .. 10-07 off, Saturday 10-10 worked.
    filed = datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI)
    deadlines = due_times(filed, "normal", DeadlinePolicy(), CHINA_CALENDAR)
    assert deadlines.acknowledge_due_at == datetime(2026, 10, 8, 15, 0, tzinfo=SHANGHAI)
    assert deadlines.resolve_due_at == datetime(2026, 10, 13, 15, 0, tzinfo=SHANGHAI)
