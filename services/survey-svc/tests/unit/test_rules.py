"""Callback and alert rules."""

from datetime import UTC, date, datetime

from retailcare_shared.workdays import CHINA, COMPANY_TIME_ZONE, WorkCalendar, work_calendar
from survey_svc.alerts.rules import GroupFigures, hidden_dissatisfaction
from survey_svc.callbacks.rules import after_unanswered_attempt, callback_due


def test_callback_is_due_three_working_days_after_resolution() -> None:
    # Resolved Friday 2026-11-20 10:00 Shanghai (02:00 UTC) → due Wednesday 25th, same time.
    resolved = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert callback_due(resolved, WorkCalendar(), 3) == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    holiday = WorkCalendar(holidays=frozenset({date(2026, 11, 23)}))
    assert callback_due(resolved, holiday, 3) == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_callback_due_skips_spring_festival_2026() -> None:
    # Resolved Friday 02-13 16:00: Sat 14th is a make-up working day, 15th-23rd are off.
    resolved = datetime(2026, 2, 13, 16, 0, tzinfo=COMPANY_TIME_ZONE)
    due = callback_due(resolved, work_calendar(CHINA), 3)
    assert due == datetime(2026, 2, 25, 16, 0, tzinfo=COMPANY_TIME_ZONE)


def test_third_unanswered_attempt_makes_the_callback_unreachable() -> None:
    assert after_unanswered_attempt(0, 3) == (1, "pending")
    assert after_unanswered_attempt(1, 3) == (2, "pending")
    assert after_unanswered_attempt(2, 3) == (3, "unreachable")


def test_hidden_dissatisfaction_needs_both_a_low_rate_and_low_satisfaction() -> None:
    groups = [
        GroupFigures("quiet-unhappy", 100, 1, 10, 62.0),  # 1% and 62 → alert
        GroupFigures("quiet-happy", 100, 0, 10, 85.0),  # satisfied
        GroupFigures("loud-unhappy", 100, 10, 10, 50.0),  # complains: visible already
        GroupFigures("edge", 100, 2, 10, 69.9),  # exactly 2% counts as low
        GroupFigures("no-survey", 100, 0, 0, None),
        GroupFigures("no-shops", 0, 0, 3, 40.0),
    ]
    flagged = hidden_dissatisfaction(groups, complaint_rate_max=0.02, satisfaction_index_below=70)
    assert [group.key for group in flagged] == ["quiet-unhappy", "edge"]
    assert flagged[0].complaint_rate == 0.01
