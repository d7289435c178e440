"""Repeat-complaint detection (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class EarlierComplaint:
    """What repeat detection needs to know about an earlier complaint of the same shop."""

    id: uuid.UUID
    repeat_of: uuid.UUID | None
    category: str
    status: str
    callback_satisfied: bool | None
    filed_at: datetime


def chain_root(complaint_id: uuid.UUID, repeat_of: uuid.UUID | None) -> uuid.UUID:
    """The first complaint of a chain: repeats always point at it directly."""
    return repeat_of or complaint_id


def still_unresolved_for_shop(earlier: EarlierComplaint) -> bool:
    """Open, or closed with an unsatisfied callback: the shop's problem is not settled."""
    if earlier.status != "closed":
        return True
    return earlier.callback_satisfied is False


def find_repeat_root(
    earlier: Sequence[EarlierComplaint],
    *,
    category: str,
    filed_at: datetime,
    window: timedelta = timedelta(days=30),
) -> uuid.UUID | None:
    """The chain root a new complaint repeats, or None when it is an original complaint."""
    candidates = [
        item
        for item in earlier
        if item.category == category
        and filed_at - window <= item.filed_at <= filed_at
        and still_unresolved_for_shop(item)
    ]
    if not candidates:
        return None
    first = min(candidates, key=lambda item: item.filed_at)
    return chain_root(first.id, first.repeat_of)
