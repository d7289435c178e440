"""Vectorised scoring, ranking, classes and quadrants of a whole population (pure numpy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from valuation_svc.valuation import indicators as ind

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

TIE_TOLERANCE = 1e-6
CREDIT_DECIMALS = 6
CLASSES = ("A", "B", "C", "D", "problem")
CLASS_CODE = {name: code for code, name in enumerate(CLASSES)}
QUADRANTS = ("value", "sub_value", "potential", "low_value")
# Problem-customer flags (bit mask stored with each result, turned into reasons on read).
FLAG_LOW_CREDIT = 1
FLAG_VIOLATION = 2
FLAG_NO_RECENT_ORDER = 4

NUMERIC_INPUTS = (
    "volume",
    "amount",
    "gross_profit",
    "orders",
    "e_orders",
    "e_amount",
    "promoted_cartons",
    "key_brand_skus",
    "display_sku_count",
    "consumer_complaints",
    "business_hours",
    "last_year_volume",
)
CATEGORY_INPUTS = {
    "lawful_operation": "compliance_grade",
    "price_labeling": "price_labeling",
    "renown": "renown",
    "reputation": "reputation",
    "display_form": "display_form",
    "trading_area": "trading_area",
    "business_format": "business_format",
}


@dataclass
class Population:
    """Column arrays of the shops to score (one row per shop); categoricals as vocabulary codes."""

    group: Ints
    market_rural: npt.NDArray[np.bool_]
    columns: dict[str, Floats]
    violation: npt.NDArray[np.bool_]
    recent_order: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.group.shape[0])


@dataclass
class GroupStats:
    """Per ranking group: what an indicator needs from the group (index = group id)."""

    size: Ints
    log2max_volume: Floats
    log2max_amount: Floats
    log2max_profit: Floats
    total_volume: Floats
    total_amount: Floats


@dataclass
class Scored:
    """Scores of a population: indicator scores (NaN = excluded), effective weights, points."""

    scores: Floats  # (n, 21) in ind.INDICATORS order
    inputs: Floats  # (n, 21)
    weights: Floats  # (n, 21) effective weights after exclusion (0 when excluded)
    dimensions: Floats  # (n, 5) points
    total: Floats
    current: Floats
    potential: Floats
    credit: Floats


@dataclass
class Classified:
    """Ranks, positions, classes and quadrants."""

    rank: Ints
    group_size: Ints
    position: Floats
    rank_class: Ints
    value_class: Ints
    quadrant: Ints
    flags: Ints
    cutoffs: dict[str, Floats] = field(default_factory=dict)


def group_sums(values: Floats, group: Ints, groups: int) -> Floats:
    """Sum of values per group."""
    sums: Floats = np.bincount(group, weights=np.nan_to_num(values), minlength=groups).astype(
        np.float64
    )
    return sums


def group_max(values: Floats, group: Ints, groups: int) -> Floats:
    """Max of values per group (-inf for empty groups)."""
    out = np.full(groups, -np.inf)
    np.maximum.at(out, group, np.nan_to_num(values, nan=-np.inf))
    return out


def group_stats(population: Population, groups: int) -> GroupStats:
    """What the group-relative indicators need."""
    c, g = population.columns, population.group

    def log2max(values: Floats) -> Floats:
        top = group_max(values, g, groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(top > 1, np.log2(np.where(top > 1, top, 2.0)), 0.0)

    return GroupStats(
        size=np.bincount(g, minlength=groups).astype(np.int64),
        log2max_volume=log2max(c["volume"]),
        log2max_amount=log2max(c["amount"]),
        log2max_profit=log2max(c["gross_profit"]),
        total_volume=group_sums(c["volume"], g, groups),
        total_amount=group_sums(c["amount"], g, groups),
    )


def competition_rank(values: Floats, group: Ints, *, tolerance: float = TIE_TOLERANCE) -> Ints:
    """Rank within each group by value descending; values within `tolerance` share the better
    rank (1, 1, 3 …)."""
    n = values.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-values, group))
    sorted_values = values[order]
    sorted_group = group[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = sorted_group[1:] != sorted_group[:-1]
    new_value = np.empty(n, dtype=bool)
    new_value[0] = True
    new_value[1:] = (sorted_values[:-1] - sorted_values[1:]) > tolerance
    starts_of_group = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    position_in_group = np.arange(n) - starts_of_group
    run_start = np.maximum.accumulate(np.where(new_group | new_value, np.arange(n), 0))
    ranks_sorted = run_start - starts_of_group + 1
    del position_in_group
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = ranks_sorted
    return ranks


def group_median(values: Floats, group: Ints, groups: int) -> Floats:
    """Median per group (NaN for empty groups)."""
    out = np.full(groups, np.nan)
    if values.shape[0] == 0:
        return out
    order = np.lexsort((values, group))
    sorted_values = values[order]
    counts = np.bincount(group, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    present = counts > 0
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    out[present] = (sorted_values[lo[present]] + sorted_values[hi[present]]) / 2.0
    return out


def weight_matrix(model: dict[str, Any], rural: npt.NDArray[np.bool_]) -> tuple[Floats, Floats]:
    """Indicator weights (n, 21) and dimension weights (n, 5) for each shop's market type."""

    def tables(market: str) -> tuple[Floats, Floats]:
        spec = model["weights"][market]
        indicator = np.array(
            [
                float(spec[ind.DIMENSION_OF[name]]["indicators"].get(name, 0.0))
                for name in ind.INDICATORS
            ]
        )
        dimension = np.array([float(spec[name]["weight"]) for name in ind.DIMENSIONS])
        return indicator, dimension

    urban_i, urban_d = tables("urban")
    rural_i, rural_d = tables("rural")
    indicator_w = np.where(rural[:, None], rural_i[None, :], urban_i[None, :])
    dimension_w = np.where(rural[:, None], rural_d[None, :], urban_d[None, :])
    return indicator_w, dimension_w


def indicator_scores(
    population: Population, stats: GroupStats, promotion_rank: Ints
) -> tuple[Floats, Floats]:
    """Scores and inputs of the 21 indicators, (n, 21) each, in ind.INDICATORS order."""
    c, g = population.columns, population.group
    volume, amount, profit = c["volume"], c["amount"], c["gross_profit"]
    scores: dict[str, Floats] = {
        "sales_volume": ind.log2_scaled(volume, stats.log2max_volume[g]),
        "sales_amount": ind.log2_scaled(amount, stats.log2max_amount[g]),
        "sales_structure": ind.sales_structure(
            amount, volume, stats.total_amount[g], stats.total_volume[g]
        ),
        "gross_profit": ind.log2_scaled(profit, stats.log2max_profit[g]),
        "volume_share": ind.share(volume, stats.total_volume[g]),
        "amount_share": ind.share(amount, stats.total_amount[g]),
        "key_brand_variety": ind.key_brand_variety(c["key_brand_skus"]),
        "promotion_uptake": ind.promotion_uptake(promotion_rank, c["promoted_cartons"]),
        "e_settlement_orders": ind.ratio_score(c["e_orders"], c["orders"]),
        "e_settlement_amount": ind.ratio_score(c["e_amount"], amount),
        "display_capability": ind.display_capability(c["display_sku_count"]),
        "consumer_complaints": ind.consumer_complaints(c["consumer_complaints"]),
        "convenience": ind.convenience(c["business_hours"]),
        "sales_growth": ind.sales_growth(volume, c["last_year_volume"]),
    }
    for name, column in CATEGORY_INPUTS.items():
        scores[name] = ind.category_score(name, c[column])
    with np.errstate(divide="ignore", invalid="ignore"):
        structure_input = np.where(volume > 0, amount / volume, np.nan)
        e_orders_input = np.where(c["orders"] > 0, c["e_orders"] / c["orders"], np.nan)
        e_amount_input = np.where(amount > 0, c["e_amount"] / amount, np.nan)
        growth_input = np.where(
            c["last_year_volume"] > 0, volume / c["last_year_volume"] - 1.0, np.nan
        )
    inputs: dict[str, Floats] = {
        "sales_volume": volume,
        "sales_amount": amount,
        "sales_structure": structure_input,
        "gross_profit": profit,
        "volume_share": volume,
        "amount_share": amount,
        "key_brand_variety": c["key_brand_skus"],
        "promotion_uptake": c["promoted_cartons"],
        "e_settlement_orders": e_orders_input,
        "e_settlement_amount": e_amount_input,
        "display_capability": c["display_sku_count"],
        "consumer_complaints": c["consumer_complaints"],
        "convenience": c["business_hours"],
        "sales_growth": growth_input,
    }
    for name, column in CATEGORY_INPUTS.items():
        inputs[name] = c[column]
    n = len(population)
    # One matrix at a time, each column dict dropped once copied (peak memory at a million shops).
    score_matrix = np.empty((n, len(ind.INDICATORS)))
    for index, name in enumerate(ind.INDICATORS):
        score_matrix[:, index] = np.broadcast_to(scores[name], (n,))
    del scores
    input_matrix = np.empty((n, len(ind.INDICATORS)))
    for index, name in enumerate(ind.INDICATORS):
        input_matrix[:, index] = np.broadcast_to(inputs[name], (n,))
    return score_matrix, input_matrix


def combine(
    scores: Floats, inputs: Floats, model: dict[str, Any], rural: npt.NDArray[np.bool_]
) -> Scored:
    """Dimension points with excluded indicators' weight shared by the rest of the dimension."""
    indicator_w, dimension_w = weight_matrix(model, rural)
    raw_w = np.where(np.isnan(scores), 0.0, indicator_w)
    del indicator_w
    n = scores.shape[0]
    # The shared weights overwrite the raw ones block by block (each block is read first): one
    # (n, 21) matrix instead of three at a million shops.
    effective = raw_w
    dimensions = np.zeros((n, len(ind.DIMENSIONS)))
    start = 0
    for d_index, names in enumerate(ind.DIMENSIONS.values()):
        block = slice(start, start + len(names))
        start += len(names)
        block_w = raw_w[:, block]
        total_w = block_w.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            shared = np.where(total_w[:, None] > 0, block_w / total_w[:, None], 0.0)
        effective[:, block] = shared
        weighted = (shared * np.nan_to_num(scores[:, block])).sum(axis=1)
        dimensions[:, d_index] = dimension_w[:, d_index] * weighted / 100.0
    total = dimensions.sum(axis=1)
    current_w = dimension_w[:, :3].sum(axis=1)
    potential_w = dimension_w[:, 3:].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        current = np.where(current_w > 0, 100.0 * dimensions[:, :3].sum(axis=1) / current_w, 0.0)
        potential = np.where(
            potential_w > 0, 100.0 * dimensions[:, 3:].sum(axis=1) / potential_w, 0.0
        )
    credit = np.round(dimensions[:, 2], CREDIT_DECIMALS)
    return Scored(scores, inputs, effective, dimensions, total, current, potential, credit)


def rank_class(rank: Ints, size: Ints, thresholds: dict[str, Any]) -> Ints:
    """The class a position qualifies for: p ≤ A → A; ≤ B → B; ≤ C → C; else D."""
    position = thresholds["position"]
    # Compare rank ≤ share·N with a tiny slack so exact boundaries (1/20 = 5%) are inclusive.
    slack = 1e-9
    cut_a = position["A"] * size + slack
    cut_b = position["B"] * size + slack
    cut_c = position["C"] * size + slack
    return np.where(rank <= cut_a, 0, np.where(rank <= cut_b, 1, np.where(rank <= cut_c, 2, 3)))


def credit_demotion(rank_cls: Ints, credit: Floats, thresholds: dict[str, Any]) -> Ints:
    """Drop to the next class whose credit rule holds (A ≥ 17, B ≥ 15, C none, D > 10)."""
    rules = thresholds["credit"]
    ok_a = credit >= rules["A"]
    ok_b = credit >= rules["B"]
    from_a = np.where(ok_a, 0, np.where(ok_b, 1, 2))
    from_b = np.where(ok_b, 1, 2)
    return np.where(rank_cls == 0, from_a, np.where(rank_cls == 1, from_b, rank_cls))


def problem_flags(
    credit: Floats,
    violation: npt.NDArray[np.bool_],
    recent_order: npt.NDArray[np.bool_],
    thresholds: dict[str, Any],
) -> Ints:
    """Bit mask of the three problem-customer rules."""
    low = credit <= thresholds["credit"]["D"]
    return (
        np.where(low, FLAG_LOW_CREDIT, 0)
        | np.where(violation, FLAG_VIOLATION, 0)
        | np.where(~recent_order, FLAG_NO_RECENT_ORDER, 0)
    ).astype(np.int64)


def quadrants(
    current: Floats, potential: Floats, group: Ints, groups: int, model: dict[str, Any]
) -> tuple[Ints, Floats, Floats]:
    """Quadrant codes (value, sub_value, potential, low_value) and the cut-offs per group."""
    spec = model["quadrant"]
    if spec.get("mode") == "fixed":
        cut_current = np.full(groups, float(spec["current"]))
        cut_potential = np.full(groups, float(spec["potential"]))
    else:
        cut_current = group_median(current, group, groups)
        cut_potential = group_median(potential, group, groups)
    high_current = current >= cut_current[group] - 1e-9
    high_potential = potential >= cut_potential[group] - 1e-9
    codes = np.where(
        high_current,
        np.where(high_potential, 0, 1),
        np.where(high_potential, 2, 3),
    )
    return codes.astype(np.int64), cut_current, cut_potential


def promotion_ranks(population: Population) -> Ints:
    """Rank of promoted cartons within the group (ties share the better rank)."""
    return competition_rank(population.columns["promoted_cartons"], population.group, tolerance=0.0)


def evaluate(
    population: Population, groups: int, model: dict[str, Any]
) -> tuple[Scored, Classified, GroupStats]:
    """Score, rank and classify a whole population in one vectorised pass."""
    stats = group_stats(population, groups)
    scores, inputs = indicator_scores(population, stats, promotion_ranks(population))
    scored = combine(scores, inputs, model, population.market_rural)
    classified = classify(scored, population, groups, model, stats.size)
    return scored, classified, stats


def classify(
    scored: Scored, population: Population, groups: int, model: dict[str, Any], size: Ints
) -> Classified:
    """Ranks, positions, classes (with credit demotion and problem rules) and quadrants."""
    thresholds = model["thresholds"]
    group = population.group
    rank = competition_rank(scored.total, group)
    group_size = size[group]
    position = rank / np.maximum(group_size, 1)
    by_rank = rank_class(rank, group_size, thresholds)
    demoted = credit_demotion(by_rank, scored.credit, thresholds)
    flags = problem_flags(scored.credit, population.violation, population.recent_order, thresholds)
    value_class = np.where(flags != 0, CLASS_CODE["problem"], demoted).astype(np.int64)
    quadrant, cut_current, cut_potential = quadrants(
        scored.current, scored.potential, group, groups, model
    )
    return Classified(
        rank=rank,
        group_size=group_size.astype(np.int64),
        position=position,
        rank_class=by_rank.astype(np.int64),
        value_class=value_class,
        quadrant=quadrant,
        flags=flags,
        cutoffs={"current": cut_current, "potential": cut_potential},
    )
