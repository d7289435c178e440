"""Pure visit rules: duration limits and the perfunctory flag (the two-minute visit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

PERFUNCTORY_MINUTES = 5
MAX_VISIT = timedelta(hours=12)


def duration_problem(
    started_at: datetime, ended_at: datetime, now: datetime
) -> tuple[str, str, str] | None:
    """(field, rule, message) when the times break a rule, else None."""
    if ended_at <= started_at:
        return ("ended_at", "after_started_at", "ended_at must be after started_at")
    if ended_at - started_at > MAX_VISIT:
        return ("ended_at", "at_most_12_hours", "a visit lasts at most 12 hours")
    if ended_at > now:
        return ("ended_at", "not_in_future", "ended_at is in the future")
    return None


def minutes_between(started_at: datetime, ended_at: datetime) -> float:
    """The visit's length in minutes (one decimal)."""
    return round((ended_at - started_at).total_seconds() / 60, 1)


def is_perfunctory(
    minutes: float, findings: str | None, customer_requests: str | None, follow_ups: Sequence[str]
) -> bool:
    """Shorter than 5 minutes with no findings, requests or follow-ups."""
    nothing_found = not (findings or "").strip() and not (customer_requests or "").strip()
    nothing_followed = not any(item.strip() for item in follow_ups)
    return minutes < PERFUNCTORY_MINUTES and nothing_found and nothing_followed
