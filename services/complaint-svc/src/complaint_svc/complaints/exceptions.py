"""Errors of the complaint domain (each carries its HTTP status)."""

from __future__ import annotations

from retailcare_shared.problems import Conflict, NotFound


class ComplaintNotFound(NotFound):
    """No complaint with that id or reference that the caller may see."""

    def __init__(self, key: object) -> None:
        super().__init__(f"complaint {key} does not exist")


class TransitionConflict(Conflict):
    """The action is not allowed from the complaint's current status (409 naming the status)."""

    type_slug = "transition-not-allowed"

    def __init__(self, action: str, status: str) -> None:
        super().__init__(
            f"cannot {action} a complaint in status {status}", action=action, current_status=status
        )
