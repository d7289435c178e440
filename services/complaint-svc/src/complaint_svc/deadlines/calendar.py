"""Acknowledge / resolve due times by priority on the working-day calendar (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from retailcare_shared.workdays import WorkCalendar


@dataclass(frozen=True)
class Allowance:
    """A time allowance: working days on the calendar, or plain hours."""

    working_days: int = 0
    hours: float = 0.0

    def due(self, start: datetime, calendar: WorkCalendar) -> datetime:
        """The moment this allowance runs out when started at `start`."""
        if self.working_days:
            return calendar.add_working_days(start, self.working_days)
        return start + timedelta(hours=self.hours)


@dataclass(frozen=True)
class DeadlinePolicy:
    """Acknowledge and resolve allowances for each priority."""

    normal_acknowledge: Allowance = Allowance(working_days=1)
    normal_resolve: Allowance = Allowance(working_days=5)
    urgent_acknowledge: Allowance = Allowance(hours=2)
    urgent_resolve: Allowance = Allowance(working_days=1)


@dataclass(frozen=True)
class Deadlines:
    """When a complaint must be acknowledged (assigned) and resolved."""

    acknowledge_due_at: datetime
    resolve_due_at: datetime


def due_times(
    filed_at: datetime, priority: str, policy: DeadlinePolicy, calendar: WorkCalendar
) -> Deadlines:
    """The deadlines of a complaint filed at `filed_at` with `priority`."""
    if priority == "urgent":
        acknowledge, resolve = policy.urgent_acknowledge, policy.urgent_resolve
    else:
        acknowledge, resolve = policy.normal_acknowledge, policy.normal_resolve
    return Deadlines(acknowledge.due(filed_at, calendar), resolve.due(filed_at, calendar))
