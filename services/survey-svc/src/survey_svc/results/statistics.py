"""Campaign result statistics from per-cell sufficient statistics (pure: numpy and scipy).

A *cell* is a set of responses with one design weight (a stratum, or a stratum within a group).
The database sums each item per cell; everything here works on those sums, so the cost does not
grow with the number of responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

CONFIDENCE = 0.95
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class PairSums:
    """Per item (rows) and cell (columns): count, Σe, Σp, Σ(p-e), Σ(p-e)²."""

    n: Floats
    sum_expectation: Floats
    sum_perception: Floats
    sum_gap: Floats
    sum_gap_squared: Floats


@dataclass(frozen=True)
class ItemGap:
    """Figures of one SERVQUAL item."""

    n: int
    mean_expectation: float | None
    mean_perception: float | None
    mean_gap: float | None
    sd_gap: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class RatingFigures:
    """Figures of one rating item."""

    n: int
    mean: float | None
    distribution: dict[str, int]
    top_two_box: float | None


def design_weights(population: Floats, responses: Floats) -> Floats:
    """N_h / responses_h per stratum (0 where a stratum has no response)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = np.where(responses > 0, population / np.maximum(responses, 1), 0.0)
    return np.asarray(weights, dtype=np.float64)


def item_gaps(sums: PairSums, weights: Floats) -> list[ItemGap]:
    """Weighted mean gap, standard deviation and Student-t 95% interval per item.

    With equal weights these are the textbook paired-difference figures: sample sd (n - 1)
    and mean ± t(0.975, n - 1) · sd / √n. With design weights the mean and the spread are
    weighted, the degrees of freedom stay n - 1.
    """
    return item_gaps_by_column(sums, weights[:, None])[0]


def item_gaps_by_column(sums: PairSums, weights: Floats) -> list[list[ItemGap]]:
    """`item_gaps` for several weightings at once: weights [cells, K] → K lists of items.

    A column of 0/1 weights gives one group's unweighted figures; the answer count of a column
    is the count in its cells of non-zero weight.
    """
    n = sums.n @ (weights > 0).astype(np.float64)
    weighted_n = sums.n @ weights
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_e = (sums.sum_expectation @ weights) / weighted_n
        mean_p = (sums.sum_perception @ weights) / weighted_n
        sum_g = sums.sum_gap @ weights
        mean_g = sum_g / weighted_n
        # Σw(g - ḡ)² over the cell sums: Σwg² - 2ḡΣwg + ḡ²Σwn.
        squares = sums.sum_gap_squared @ weights - 2 * mean_g * sum_g + mean_g**2 * weighted_n
        variance = np.maximum(squares, 0.0) / weighted_n * n / (n - 1)
        sd = np.sqrt(variance)
        half_width = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd / np.sqrt(n)
    columns = []
    for column in range(weights.shape[1]):
        figures = []
        for index in range(n.shape[0]):
            count = int(n[index, column])
            has_mean = count > 0 and weighted_n[index, column] > 0
            has_spread = has_mean and count > 1
            mean = mean_g[index, column]
            half = half_width[index, column]
            figures.append(
                ItemGap(
                    n=count,
                    mean_expectation=_value(mean_e[index, column], has_mean),
                    mean_perception=_value(mean_p[index, column], has_mean),
                    mean_gap=_value(mean, has_mean),
                    sd_gap=_value(sd[index, column], has_spread),
                    ci_low=_value(mean - half, has_spread),
                    ci_high=_value(mean + half, has_spread),
                )
            )
        columns.append(figures)
    return columns


def pooled_mean_perception_by_column(sums: PairSums, weights: Floats) -> list[float | None]:
    """Weighted mean perception over every answered SERVQUAL item, per weighting column."""
    totals = (sums.n @ weights).sum(axis=0)
    perceptions = (sums.sum_perception @ weights).sum(axis=0)
    return [
        float(perception / total) if total > 0 else None
        for perception, total in zip(perceptions.tolist(), totals.tolist(), strict=True)
    ]


def pooled_mean_perception(sums: PairSums, weights: Floats) -> float | None:
    """Weighted mean perception over every answered SERVQUAL item."""
    return pooled_mean_perception_by_column(sums, weights[:, None])[0]


def dimension_gaps(gaps: Sequence[ItemGap], dimensions: Sequence[str | None]) -> dict[str, float]:
    """Mean of the item gaps of each dimension (items without answers left out)."""
    collected: dict[str, list[float]] = {}
    for gap, dimension in zip(gaps, dimensions, strict=True):
        if dimension is not None and gap.mean_gap is not None:
            collected.setdefault(dimension, []).append(gap.mean_gap)
    return {name: float(np.mean(values)) for name, values in collected.items()}


def servqual_score(dimensions: dict[str, float]) -> float | None:
    """Mean of the dimension gaps."""
    return float(np.mean(list(dimensions.values()))) if dimensions else None


def rating_figures(counts: NDArray[np.float64], weights: Floats) -> list[RatingFigures]:
    """Per rating item from counts [item, cell, score 1..5]: weighted mean and top-2-box share."""
    return rating_figures_by_column(counts, weights[:, None])[0]


def rating_figures_by_column(
    counts: NDArray[np.float64], weights: Floats
) -> list[list[RatingFigures]]:
    """`rating_figures` for weights [cells, K]; distributions count the column's cells."""
    scores = np.arange(1, 6, dtype=np.float64)
    weighted = np.einsum("ics,ck->kis", counts, weights)
    raw = np.einsum("ics,ck->kis", counts, (weights > 0).astype(np.float64))
    columns = []
    for column in range(weights.shape[1]):
        figures = []
        for index in range(counts.shape[0]):
            total = weighted[column, index].sum()
            distribution = raw[column, index]
            n = int(distribution.sum())
            has = n > 0 and total > 0
            figures.append(
                RatingFigures(
                    n=n,
                    mean=float(weighted[column, index] @ scores / total) if has else None,
                    distribution={str(s): int(distribution[s - 1]) for s in range(1, 6)},
                    top_two_box=float(weighted[column, index][3:].sum() / total) if has else None,
                )
            )
        columns.append(figures)
    return columns


def pooled_mean_rating_by_column(
    counts: NDArray[np.float64], weights: Floats
) -> list[float | None]:
    """Weighted mean score over every rating answer, per weighting column."""
    weighted = np.einsum("ics,ck->ks", counts, weights)
    totals = weighted.sum(axis=1)
    means = weighted @ np.arange(1, 6)
    return [
        float(mean / total) if total > 0 else None
        for mean, total in zip(means.tolist(), totals.tolist(), strict=True)
    ]


def pooled_mean_rating(counts: NDArray[np.float64], weights: Floats) -> float | None:
    """Weighted mean score over every rating answer."""
    return pooled_mean_rating_by_column(counts, weights[:, None])[0]


def _value(value: float, present: bool) -> float | None:
    return float(value) if present and np.isfinite(value) else None
