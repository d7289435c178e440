"""Callback work rules (pure)."""

from __future__ import annotations

from datetime import datetime

from retailcare_shared.workdays import WorkCalendar

PENDING, COMPLETED, UNREACHABLE = "pending", "completed", "unreachable"


def callback_due(resolved_at: datetime, calendar: WorkCalendar, working_days: int) -> datetime:
    """A callback is due `working_days` working days after the complaint was resolved."""
    return calendar.add_working_days(resolved_at, working_days)


def after_unanswered_attempt(attempts: int, max_attempts: int) -> tuple[int, str]:
    """Attempts after one more unanswered call, and the status it leaves the callback in."""
    attempts += 1
    return attempts, UNREACHABLE if attempts >= max_attempts else PENDING
