"""Hidden dissatisfaction: a low complaint rate with a low satisfaction index (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class GroupFigures:
    """Complaint and satisfaction figures of one group of shops over a window."""

    key: str | None
    customers: int
    complaining_customers: int
    responses: int
    satisfaction_index: float | None

    @property
    def complaint_rate(self) -> float | None:
        """Share of the group's shops that complained (a shop counts once)."""
        return self.complaining_customers / self.customers if self.customers else None


def hidden_dissatisfaction(
    groups: Iterable[GroupFigures], *, complaint_rate_max: float, satisfaction_index_below: float
) -> list[GroupFigures]:
    """Groups whose complaint rate is at most the limit while satisfaction is below the limit.

    Groups without shops or without survey answers cannot show the pattern and are left out;
    the worst satisfaction comes first.
    """
    flagged = [
        group
        for group in groups
        if group.complaint_rate is not None
        and group.satisfaction_index is not None
        and group.complaint_rate <= complaint_rate_max
        and group.satisfaction_index < satisfaction_index_below
    ]
    return sorted(flagged, key=lambda group: (group.satisfaction_index or 0.0, str(group.key)))
