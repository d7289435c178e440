"""The complaint state machine, action by action."""

import pytest

from complaint_svc.complaints.lifecycle import (
    STATUSES,
    TRANSITIONS,
    TransitionNotAllowed,
    check_escalatable,
    is_handover,
    next_status,
)

ALLOWED = {
    ("received", "assign"): "assigned",
    ("assigned", "assign"): "assigned",
    ("in_progress", "assign"): "assigned",
    ("assigned", "start"): "in_progress",
    ("in_progress", "resolve"): "resolved",
    ("resolved", "close"): "closed",
    ("resolved", "reopen"): "in_progress",
    ("closed", "reopen"): "in_progress",
}


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_only_the_allowed_transitions_pass(status: str, action: str) -> None:
    expected = ALLOWED.get((status, action))
    if expected is None:
        with pytest.raises(TransitionNotAllowed) as raised:
            next_status(status, action)  # type: ignore[arg-type]
        assert raised.value.status == status
    else:
        assert next_status(status, action) == expected  # type: ignore[arg-type]


def test_handover_is_an_assignment_while_someone_holds_the_complaint() -> None:
    assert not is_handover("received", None)
    assert is_handover("assigned", "zhang")
    assert is_handover("in_progress", "zhang")


@pytest.mark.parametrize("status", ["received", "assigned", "in_progress"])
def test_open_complaints_can_be_escalated_by_hand(status: str) -> None:
    check_escalatable(status)


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_finished_complaints_cannot_be_escalated(status: str) -> None:
    with pytest.raises(TransitionNotAllowed) as error:
        check_escalatable(status)
    assert (error.value.action, error.value.status) == ("escalate", status)
