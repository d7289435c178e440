"""Result statistics against hand-computed figures."""

import numpy as np
import pytest
from scipy import stats

from survey_svc.results.statistics import (
    PairSums,
    design_weights,
    dimension_gaps,
    item_gaps,
    pooled_mean_perception,
    rating_figures,
    servqual_score,
)


def _sums(cells: list[list[tuple[int, int]]]) -> PairSums:
    """One item; each cell a list of (expectation, perception) answers."""
    n = np.array([[len(cell) for cell in cells]], dtype=float)
    e = np.array([[sum(a for a, _ in cell) for cell in cells]], dtype=float)
    p = np.array([[sum(b for _, b in cell) for cell in cells]], dtype=float)
    g = np.array([[sum(b - a for a, b in cell) for cell in cells]], dtype=float)
    g2 = np.array([[sum((b - a) ** 2 for a, b in cell) for cell in cells]], dtype=float)
    return PairSums(n, e, p, g, g2)


def test_unweighted_paired_gap_sd_and_t_interval() -> None:
    # gaps -1, -2, 0, -1: mean -1, sample sd sqrt(2/3), t(0.975, 3) = 3.182446305
    sums = _sums([[(4, 3), (5, 3), (3, 3), (4, 3)]])
    (gap,) = item_gaps(sums, np.ones(1))
    sd = (2 / 3) ** 0.5
    half = 3.182446305284263 * sd / 2
    assert gap.n == 4
    assert gap.mean_expectation == pytest.approx(4.0)
    assert gap.mean_perception == pytest.approx(3.0)
    assert gap.mean_gap == pytest.approx(-1.0)
    assert gap.sd_gap == pytest.approx(sd)
    assert gap.ci_low == pytest.approx(-1 - half)
    assert gap.ci_high == pytest.approx(-1 + half)
    # the same as scipy's own one-sample interval
    low, high = stats.t.interval(0.95, 3, loc=-1, scale=stats.sem([-1, -2, 0, -1]))
    assert (gap.ci_low, gap.ci_high) == pytest.approx((low, high))


def test_design_weighted_gap() -> None:
    # Stratum A: N=4, 2 responses (weight 2), gaps -2, -1; stratum B: N=2, 2 responses
    # (weight 1), gaps 0, 0. Weighted mean (2·(-3) + 0) / 6 = -1;
    # Σw(g-ḡ)² = 2·(1 + 0) + (1 + 1) = 4 → var = 4/6 · 4/3, sd = 0.9428.
    weights = design_weights(np.array([4.0, 2.0]), np.array([2.0, 2.0]))
    assert weights.tolist() == [2.0, 1.0]
    sums = _sums([[(5, 3), (4, 3)], [(3, 3), (4, 4)]])
    (gap,) = item_gaps(sums, weights)
    sd = (4 / 6 * 4 / 3) ** 0.5
    half = 3.182446305284263 * sd / 2
    assert gap.mean_gap == pytest.approx(-1.0)
    assert gap.mean_expectation == pytest.approx(25 / 6)
    assert gap.mean_perception == pytest.approx(19 / 6)
    assert gap.sd_gap == pytest.approx(sd)
    assert (gap.ci_low, gap.ci_high) == pytest.approx((-1 - half, -1 + half))
    assert pooled_mean_perception(sums, weights) == pytest.approx(19 / 6)


def test_a_single_answer_has_a_mean_but_no_spread_and_no_answer_has_nothing() -> None:
    sums = PairSums(*(np.array([[1.0], [0.0]]) * value for value in (1, 4, 2, -2, 4)))
    one, none = item_gaps(sums, np.ones(1))
    assert one.mean_gap == -2 and one.sd_gap is None and one.ci_low is None
    assert none.n == 0 and none.mean_gap is None


def test_dimensions_and_servqual_score() -> None:
    from survey_svc.results.statistics import ItemGap

    def gap(value: float | None) -> ItemGap:
        return ItemGap(1, None, None, value, None, None, None)

    dimensions = dimension_gaps(
        [gap(-1.0), gap(-0.5), gap(0.5), gap(None)],
        ["reliability", "reliability", "empathy", "tangibles"],
    )
    assert dimensions == {"reliability": -0.75, "empathy": 0.5}
    assert servqual_score(dimensions) == pytest.approx(-0.125)
    assert servqual_score({}) is None


def test_rating_mean_distribution_and_top_two_box() -> None:
    # Stratum A (weight 2): scores 5, 4; stratum B (weight 1): 2, 3.
    counts = np.zeros((1, 2, 5))
    counts[0, 0, 4] = counts[0, 0, 3] = 1
    counts[0, 1, 1] = counts[0, 1, 2] = 1
    (figures,) = rating_figures(counts, np.array([2.0, 1.0]))
    assert figures.n == 4
    assert figures.mean == pytest.approx(23 / 6)
    assert figures.top_two_box == pytest.approx(4 / 6)
    assert figures.distribution == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}


def test_columns_give_the_same_figures_as_one_weighting_at_a_time() -> None:
    from survey_svc.results.statistics import item_gaps_by_column, rating_figures_by_column

    sums = _sums([[(5, 3), (4, 3)], [(3, 3), (4, 4)], [(2, 5)]])
    design = np.array([2.0, 1.0, 3.0])
    group_a = np.array([1.0, 0.0, 1.0])
    columns = item_gaps_by_column(sums, np.column_stack([design, group_a]))
    assert columns == [item_gaps(sums, design), item_gaps(sums, group_a)]
    # The group's count covers only its cells: 2 + 1 answers.
    assert columns[1][0].n == 3 and columns[0][0].n == 5
    counts = np.zeros((1, 3, 5))
    counts[0, 0, 4] = counts[0, 1, 0] = counts[0, 2, 2] = 1
    by_column = rating_figures_by_column(counts, np.column_stack([design, group_a]))
    assert by_column == [rating_figures(counts, design), rating_figures(counts, group_a)]
    assert by_column[1][0].distribution == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
