"""How analytics windows map onto the month pre-aggregates."""

from datetime import date

import pytest

from complaint_svc.analytics.windows import (
    Split,
    active_per_period,
    month_bits,
    period_offset,
    split_window,
)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # Whole months only.
        (date(2025, 11, 1), date(2026, 10, 31), Split(date(2025, 11, 1), date(2026, 11, 1), ())),
        # Partial first and last months: their days come from raw rows.
        (
            date(2025, 11, 15),
            date(2026, 3, 10),
            Split(
                date(2025, 12, 1),
                date(2026, 3, 1),
                ((date(2025, 11, 15), date(2025, 12, 1)), (date(2026, 3, 1), date(2026, 3, 11))),
            ),
        ),
        # One day on each side of whole months.
        (
            date(2025, 10, 31),
            date(2026, 2, 1),
            Split(
                date(2025, 11, 1),
                date(2026, 2, 1),
                ((date(2025, 10, 31), date(2025, 11, 1)), (date(2026, 2, 1), date(2026, 2, 2))),
            ),
        ),
        # Inside one month, and across a month end without a whole month: all raw.
        (
            date(2026, 1, 5),
            date(2026, 1, 20),
            Split(date(2026, 1, 1), date(2026, 1, 1), ((date(2026, 1, 5), date(2026, 1, 21)),)),
        ),
        (
            date(2026, 1, 20),
            date(2026, 2, 5),
            Split(date(2026, 2, 1), date(2026, 2, 1), ((date(2026, 1, 20), date(2026, 2, 6)),)),
        ),
        # Exactly one whole month, December into the next year.
        (date(2025, 12, 1), date(2025, 12, 31), Split(date(2025, 12, 1), date(2026, 1, 1), ())),
    ],
)
def test_split_window(first: date, last: date, expected: Split) -> None:
    split = split_window(first, last)
    assert split == expected
    assert split.has_months == (expected.months_from < expected.months_to)


def test_month_bits_per_year() -> None:
    assert month_bits(date(2025, 11, 1), date(2026, 3, 1)) == {2025: 0b1100_0000_0000, 2026: 0b11}
    assert month_bits(date(2026, 1, 1), date(2027, 1, 1)) == {2026: 0xFFF}
    assert month_bits(date(2026, 5, 1), date(2026, 5, 1)) == {}


def test_period_offsets_place_each_year_in_the_window_mask() -> None:
    # Months from November 2025: November 2025 is bit 10 of 2025 → shift right by 10.
    assert period_offset(2025, "month", date(2025, 11, 1)) == -10
    assert period_offset(2026, "month", date(2025, 11, 1)) == 2
    # Quarters from Q4 2025: Q4 is bit 3 of 2025's quarter bits.
    assert period_offset(2025, "quarter", date(2025, 10, 1)) == -3
    assert period_offset(2026, "quarter", date(2025, 10, 1)) == 1


def test_active_per_period_from_starts_and_stops() -> None:
    # 10 shops started before the window (period 0), 2 in period 1; 3 stop from period 1 on
    # (they were still active part of period 0).
    assert active_per_period(3, [(0, 10), (1, 2)], [(1, 3)]) == [10, 9, 9]
    assert active_per_period(2, [], []) == [0, 0]
