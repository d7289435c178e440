"""Ranks, positions, classes, credit demotion, problem rules, quadrants, weight sharing."""

import numpy as np
import pytest

from valuation_svc.valuation import indicators as ind
from valuation_svc.valuation.classify import (
    CLASSES,
    FLAG_LOW_CREDIT,
    FLAG_NO_RECENT_ORDER,
    FLAG_VIOLATION,
    Population,
    combine,
    competition_rank,
    credit_demotion,
    evaluate,
    group_median,
    problem_flags,
    quadrants,
    rank_class,
)
from valuation_svc.valuation.model_rules import default_model

THRESHOLDS = default_model()["thresholds"]


def classes(codes: np.ndarray) -> list[str]:
    return [CLASSES[int(code)] for code in codes]


def test_equal_totals_share_the_better_rank_within_each_group() -> None:
    totals = np.array([80.0, 90.0, 90.0, 70.0, 50.0, 60.0])
    group = np.array([0, 0, 0, 0, 1, 1])
    assert competition_rank(totals, group).tolist() == [3, 1, 1, 4, 2, 1]


def test_totals_within_1e6_are_equal() -> None:
    totals = np.array([90.0, 90.0 - 5e-7, 89.0])
    assert competition_rank(totals, np.zeros(3, dtype=np.int64)).tolist() == [1, 1, 3]


def test_position_boundaries_are_inclusive_at_exactly_5_25_85_percent() -> None:
    ranks = np.array([1, 5, 6, 25, 26, 85, 86, 100])
    size = np.full(8, 100)
    assert classes(rank_class(ranks, size, THRESHOLDS)) == ["A", "A", "B", "B", "C", "C", "D", "D"]
    # 1 of 20 is exactly 5%
    assert classes(rank_class(np.array([1, 2]), np.array([20, 20]), THRESHOLDS)) == ["A", "B"]


def test_credit_boundaries_exactly_17_and_15() -> None:
    rank_a = np.zeros(5, dtype=np.int64)
    credit = np.array([17.0, 16.999999, 16.0, 15.0, 14.0])
    # A-rank with credit 16 → B; with 14 → C (the next class whose credit rule holds)
    assert classes(credit_demotion(rank_a, credit, THRESHOLDS)) == ["A", "B", "B", "B", "C"]
    rank_b = np.ones(3, dtype=np.int64)
    assert classes(credit_demotion(rank_b, np.array([15.0, 14.999999, 20.0]), THRESHOLDS)) == [
        "B",
        "C",
        "B",
    ]
    rank_c_d = np.array([2, 3])
    assert classes(credit_demotion(rank_c_d, np.array([11.0, 11.0]), THRESHOLDS)) == ["C", "D"]


def test_problem_rules_credit_exactly_10_violation_no_recent_order() -> None:
    credit = np.array([10.0, 10.000001, 20.0, 20.0])
    violation = np.array([False, False, True, False])
    recent = np.array([True, True, True, False])
    flags = problem_flags(credit, violation, recent, THRESHOLDS).tolist()
    assert flags == [FLAG_LOW_CREDIT, 0, FLAG_VIOLATION, FLAG_NO_RECENT_ORDER]


def test_quadrant_by_group_median_and_by_fixed_cutoffs() -> None:
    current = np.array([10.0, 20.0, 30.0, 40.0])
    potential = np.array([40.0, 30.0, 20.0, 10.0])
    group = np.zeros(4, dtype=np.int64)
    assert group_median(current, group, 1).tolist() == [25.0]
    codes, _, _ = quadrants(current, potential, group, 1, default_model())
    assert codes.tolist() == [2, 2, 1, 1]  # potential, potential, sub_value, sub_value
    model = default_model()
    model["quadrant"] = {"mode": "fixed", "current": 20.0, "potential": 20.0}
    codes, _, _ = quadrants(current, potential, group, 1, model)
    # at the cut-off counts as high
    assert codes.tolist() == [2, 0, 0, 1]


def population(rows: list[dict[str, float]], groups: list[int] | None = None) -> Population:
    base = {
        "volume": 100.0,
        "amount": 10_000.0,
        "gross_profit": 1_000.0,
        "orders": 4.0,
        "e_orders": 4.0,
        "e_amount": 10_000.0,
        "promoted_cartons": 10.0,
        "key_brand_skus": 19.0,
        "display_sku_count": 21.0,
        "consumer_complaints": 0.0,
        "business_hours": 24.0,
        "last_year_volume": 50.0,
        "compliance_grade": 0.0,  # A
        "price_labeling": 0.0,  # price_board
        "renown": 0.0,  # national
        "reputation": 0.0,  # good
        "display_form": 0.0,  # dedicated_cabinet
        "trading_area": 0.0,  # commercial
        "business_format": ind.VOCABULARY["business_format"].index("supermarket"),
    }
    columns = {
        name: np.array([float(row.get(name, value)) for row in rows])
        for name, value in base.items()
    }
    n = len(rows)
    return Population(
        group=np.array(groups or [0] * n, dtype=np.int64),
        market_rural=np.zeros(n, dtype=bool),
        columns=columns,
        violation=np.zeros(n, dtype=bool),
        recent_order=np.ones(n, dtype=bool),
    )


def test_a_top_shop_at_the_group_average_price() -> None:
    scored, classified, _ = evaluate(population([{}] * 20), 1, default_model())
    structure = list(ind.INDICATORS).index("sales_structure")
    # shares are 5% each (≥ 25 per ten thousand): every indicator is 100 except the price
    # structure, which is exactly the group's average → 50
    assert np.allclose(np.delete(scored.scores, structure, axis=1), 100.0)
    assert np.allclose(scored.scores[:, structure], 50.0)
    # total = 100 - 40 x .15 x 50 / 100 = 97
    assert np.allclose(scored.total, 97.0)
    assert np.allclose(scored.current, 100.0 * 77 / 80)
    assert np.allclose(scored.potential, 100.0)
    assert np.allclose(scored.credit, 20.0)
    # 20 equal totals share rank 1 = 5% → all A
    assert classified.rank.tolist() == [1] * 20
    assert classes(classified.value_class) == ["A"] * 20


def test_unknown_inputs_are_excluded_and_their_weight_shared_in_the_dimension() -> None:
    rows = [{"orders": 0.0, "e_orders": 0.0, "display_sku_count": 12.0}] + [{}] * 19
    scored, _, _ = evaluate(population(rows), 1, default_model())
    names = list(ind.INDICATORS)
    e_orders = names.index("e_settlement_orders")
    display = names.index("display_capability")
    assert np.isnan(scored.scores[0, e_orders])
    assert scored.weights[0, e_orders] == 0.0
    # support without e_settlement_orders (.15): the remaining .85 is rescaled to 1
    assert scored.weights[0, display] == pytest.approx(0.30 / 0.85)
    assert scored.scores[0, display] == 36.0
    support = 20 * (0.25 * 100 + 0.15 * 100 + 0.15 * 100 + 0.30 * 36) / 0.85 / 100
    assert scored.dimensions[0, 1] == pytest.approx(support)


def test_dimension_points_follow_the_weights() -> None:
    rows = [{"compliance_grade": 1.0, "price_labeling": 1.0, "consumer_complaints": 3.0}]
    scored = combine(*_scores(population(rows * 20)), default_model(), np.zeros(20, dtype=bool))
    # credit = 20 x (.5 x 80 + .3 x 25 + .2 x 50) / 100 = 11.5
    assert scored.credit[0] == pytest.approx(11.5)


def _scores(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    from valuation_svc.valuation.classify import group_stats, indicator_scores, promotion_ranks

    stats = group_stats(pop, int(pop.group.max()) + 1)
    return indicator_scores(pop, stats, promotion_ranks(pop))


def test_demotion_chain_and_problem_override_in_a_full_evaluation() -> None:
    # 20 shops in one group; the top seller sells far more but has credit 16 (80/100/50).
    rows = [{"volume": 100.0 - i, "amount": (100.0 - i) * 100} for i in range(20)]
    rows[0].update(volume=100_000.0, amount=10_000_000.0, compliance_grade=1.0, price_labeling=1.0)
    pop = population(rows)
    pop.violation[19] = True
    scored, classified, _ = evaluate(pop, 1, default_model())
    assert scored.credit[0] == pytest.approx(16.0)
    assert classified.rank[0] == 1
    assert CLASSES[int(classified.rank_class[0])] == "A"
    assert CLASSES[int(classified.value_class[0])] == "B"
    assert CLASSES[int(classified.value_class[19])] == "problem"
    assert classified.flags[19] == FLAG_VIOLATION
    assert classified.group_size.tolist() == [20] * 20
