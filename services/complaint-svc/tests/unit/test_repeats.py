"""Repeat detection: same shop and category within 30 days while unsettled; chain root."""

import uuid
from datetime import UTC, datetime, timedelta

from complaint_svc.complaints.repeats import EarlierComplaint, chain_root, find_repeat_root

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def earlier(
    days_ago: float,
    *,
    status: str = "in_progress",
    satisfied: bool | None = None,
    category: str = "forced_bundling",
    repeat_of: uuid.UUID | None = None,
) -> EarlierComplaint:
    return EarlierComplaint(
        id=uuid.uuid4(),
        repeat_of=repeat_of,
        category=category,
        status=status,
        callback_satisfied=satisfied,
        filed_at=NOW - timedelta(days=days_ago),
    )


def test_open_complaint_in_window_makes_a_repeat_of_the_chain_root() -> None:
    first = earlier(10)
    second = earlier(5, repeat_of=first.id)
    assert find_repeat_root([second, first], category="forced_bundling", filed_at=NOW) == first.id
    assert find_repeat_root([second], category="forced_bundling", filed_at=NOW) == first.id


def test_closed_unsatisfied_counts_closed_satisfied_does_not() -> None:
    unsatisfied = earlier(3, status="closed", satisfied=False)
    satisfied = earlier(3, status="closed", satisfied=True)
    assert find_repeat_root([unsatisfied], category="forced_bundling", filed_at=NOW) == (
        unsatisfied.id
    )
    assert find_repeat_root([satisfied], category="forced_bundling", filed_at=NOW) is None


def test_other_category_or_older_than_30_days_is_not_a_repeat() -> None:
    assert find_repeat_root([earlier(31)], category="forced_bundling", filed_at=NOW) is None
    assert (
        find_repeat_root(
            [earlier(2, category="staff_attitude")], category="forced_bundling", filed_at=NOW
        )
        is None
    )
    assert find_repeat_root([earlier(30)], category="forced_bundling", filed_at=NOW) is not None


def test_chain_root() -> None:
    root = uuid.uuid4()
    assert chain_root(root, None) == root
    assert chain_root(uuid.uuid4(), root) == root
