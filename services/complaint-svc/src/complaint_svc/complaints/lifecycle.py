"""The complaint state machine (pure): which action is allowed from which status."""

from __future__ import annotations

from typing import Literal

Status = Literal["received", "assigned", "in_progress", "resolved", "closed"]
Action = Literal["assign", "start", "resolve", "close", "reopen"]

STATUSES: tuple[Status, ...] = ("received", "assigned", "in_progress", "resolved", "closed")
OPEN_STATUSES: frozenset[str] = frozenset({"received", "assigned", "in_progress"})

# action -> {from status: to status}. Assigning from assigned / in_progress is a reassignment
# (handover) that puts the complaint back to `assigned` for the new handler to start.
TRANSITIONS: dict[Action, dict[Status, Status]] = {
    "assign": {"received": "assigned", "assigned": "assigned", "in_progress": "assigned"},
    "start": {"assigned": "in_progress"},
    "resolve": {"in_progress": "resolved"},
    "close": {"resolved": "closed"},
    "reopen": {"resolved": "in_progress", "closed": "in_progress"},
}


class TransitionNotAllowed(Exception):
    """The action is not allowed from the current status."""

    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"cannot {action} a complaint in status {status}")
        self.action = action
        self.status = status


def next_status(status: str, action: Action) -> Status:
    """The status after `action`, or TransitionNotAllowed."""
    allowed = TRANSITIONS[action]
    if status not in allowed:
        raise TransitionNotAllowed(action, status)
    return allowed[status]


def is_handover(status: str, current_assignee: str | None) -> bool:
    """An assignment while someone already holds the complaint is a handover (needs a note)."""
    return current_assignee is not None and status in {"assigned", "in_progress"}


def check_escalatable(status: str) -> None:
    """A manual escalation is for a complaint still being handled (TransitionNotAllowed else)."""
    if status not in OPEN_STATUSES:
        raise TransitionNotAllowed("escalate", status)
