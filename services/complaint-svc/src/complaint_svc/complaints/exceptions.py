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


class CustomerAlreadyAttached(Conflict):
    """The complaint already names a shop (attaching is for complaints filed without one)."""

    type_slug = "customer-already-attached"

    def __init__(self, complaint_id: object) -> None:
        super().__init__(
            f"complaint {complaint_id} already names a shop",
            errors=[
                {"field": "customer_id", "rule": "already_set", "message": "already names a shop"}
            ],
        )
