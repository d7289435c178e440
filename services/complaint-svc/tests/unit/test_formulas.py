"""Analytics formulas with the spec's numbers."""

from datetime import date

import pytest

from complaint_svc.analytics.formulas import (
    ADVICE,
    changes,
    classify_trend,
    pareto,
    periods_between,
    rate,
    repeat_warning,
)
from complaint_svc.complaints.catalogue import build_catalogue, default_company_responsible


def test_seed_example_repeat_rate_and_concentration() -> None:
    # 4 shops brand shortage, 4 staff attitude, 1 forced bundling then twice more.
    repeat_rate = rate(2, 11)
    assert round(repeat_rate * 100, 2) == 18.18
    assert repeat_warning(repeat_rate, 0.10)
    assert not repeat_warning(0.0999, 0.10)
    rows = pareto([("forced_bundling", 3), ("brand_shortage", 4), ("staff_attitude", 4)])
    assert [row.key for row in rows] == ["brand_shortage", "staff_attitude", "forced_bundling"]
    assert round(rows[2].share * 100, 2) == 27.27
    assert rows[-1].cumulative_share == pytest.approx(1.0)
    assert round(rows[1].cumulative_share * 100, 2) == 72.73


@pytest.mark.parametrize(
    ("rates", "expected"),
    [
        ([0.10, 0.12, 0.14, 0.16], "rising"),
        ([0.20, 0.17, 0.15, 0.12], "declining"),
        ([0.10, 0.101, 0.099, 0.1], "stable"),
        ([0.10, 0.20, 0.10, 0.20], "fluctuating"),
        ([0.10, 0.20], "insufficient_data"),
        # One up and one down is only one alternation: judged by the net change.
        ([0.10, 0.20, 0.15], "rising"),
        # Small wiggles within 5% of the mean are treated as no change.
        ([0.100, 0.103, 0.100, 0.103, 0.120], "rising"),
    ],
)
def test_trend_classification(rates: list[float], expected: str) -> None:
    assert classify_trend(rates) == expected
    assert ADVICE[classify_trend(rates)]


def test_changes_absolute_and_relative() -> None:
    result = changes([0.1, 0.15, 0.0, 0.05])
    assert result[0].absolute is None
    assert result[1].absolute == pytest.approx(0.05)
    assert result[1].relative == pytest.approx(0.5)
    assert result[3].relative is None  # from zero there is no relative change


def test_periods_between() -> None:
    assert periods_between(date(2026, 2, 10), date(2026, 8, 1), "quarter") == [
        date(2026, 1, 1),
        date(2026, 4, 1),
        date(2026, 7, 1),
    ]
    assert len(periods_between(date(2026, 1, 1), date(2026, 3, 31), "month")) == 3


def test_catalogue_and_defaults() -> None:
    catalogue = build_catalogue("service:late_invoice, bad")
    assert catalogue["forced_bundling"][0] == "product"
    assert catalogue["late_invoice"] == ("service", "late_invoice")
    assert "bad" not in catalogue
    assert default_company_responsible("retailer")
    assert not default_company_responsible("consumer")
