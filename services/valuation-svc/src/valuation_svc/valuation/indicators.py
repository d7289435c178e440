"""The 21 indicators of spec/valuation.md, each a small pure vectorised function (NaN = unknown).

Every function takes numpy arrays (or scalars) and returns float scores 0-100; an input that is
unknown (NaN / None, or a zero denominator) yields NaN so the caller can exclude it and share its
weight among the rest of the dimension.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

CONTRIBUTION = (
    "sales_volume",
    "sales_amount",
    "sales_structure",
    "gross_profit",
    "volume_share",
    "amount_share",
)
SUPPORT = (
    "key_brand_variety",
    "promotion_uptake",
    "e_settlement_orders",
    "e_settlement_amount",
    "display_capability",
)
CREDIT = ("lawful_operation", "consumer_complaints", "price_labeling")
INFLUENCE = ("renown", "reputation", "display_form")
GROWTH = ("trading_area", "business_format", "convenience", "sales_growth")
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "contribution": CONTRIBUTION,
    "support": SUPPORT,
    "credit": CREDIT,
    "influence": INFLUENCE,
    "growth": GROWTH,
}
INDICATORS: tuple[str, ...] = tuple(name for names in DIMENSIONS.values() for name in names)
DIMENSION_OF: dict[str, str] = {
    name: dimension for dimension, names in DIMENSIONS.items() for name in names
}
CURRENT_DIMENSIONS = ("contribution", "support", "credit")
POTENTIAL_DIMENSIONS = ("influence", "growth")

# Category tables (points or scores) exactly as in the spec.
COMPLIANCE_GRADE = {"A": 100.0, "B": 80.0, "C": 60.0, "none": 0.0}
PRICE_LABELING = {"price_board": 100.0, "price_tags": 50.0, "none": 0.0}
RENOWN_POINTS = {"national": 7.0, "city": 6.0, "district": 5.0, "street": 3.0, "none": 0.0}
REPUTATION_POINTS = {"good": 2.0, "average": 0.0}
DISPLAY_FORM = {
    "dedicated_cabinet": 100.0,
    "counter_prominent": 90.0,
    "counter_other": 80.0,
    "shelf": 70.0,
    "window": 60.0,
    "other": 50.0,
}
TRADING_AREA = {
    "commercial": 100.0,
    "transit_hub": 90.0,
    "residential": 80.0,
    "industrial": 70.0,
    "campus": 60.0,
    "government_business": 50.0,
    "other": 50.0,
}
BUSINESS_FORMAT = {
    "supermarket": 100.0,
    "tobacco_liquor": 90.0,
    "mall": 80.0,
    "convenience": 70.0,
    "grocery": 60.0,
    "entertainment": 50.0,
    "other": 50.0,
}
RENOWN = {key: 100.0 * points / 7.0 for key, points in RENOWN_POINTS.items()}
REPUTATION = {key: 100.0 * points / 2.0 for key, points in REPUTATION_POINTS.items()}
CATEGORY_TABLES: dict[str, dict[str, float]] = {
    "lawful_operation": COMPLIANCE_GRADE,
    "price_labeling": PRICE_LABELING,
    "renown": RENOWN,
    "reputation": REPUTATION,
    "display_form": DISPLAY_FORM,
    "trading_area": TRADING_AREA,
    "business_format": BUSINESS_FORMAT,
}
# Stable vocabularies: a categorical input is stored as its index in this list.
VOCABULARY: dict[str, list[str]] = {name: list(table) for name, table in CATEGORY_TABLES.items()}

SHARE_UNIT = 0.000025  # 25 per million of the group's total is one point


def _f(values: Any) -> Floats:
    return np.asarray(values, dtype=np.float64)


def log2_scaled(value: Any, log2max: Any) -> Floats:
    """100·log2(X)/log2max(X); X ≤ 1 → 0 (sales_volume, sales_amount, gross_profit)."""
    x = _f(value)
    top = _f(log2max)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log2(np.where(x > 1, x, 1.0))
        score = np.where(top > 0, 100.0 * logs / np.where(top > 0, top, 1.0), 0.0)
    return np.where(np.isnan(x), np.nan, np.where(x <= 1, 0.0, np.clip(score, 0.0, 100.0)))


def log2_of_max(values: Any) -> float:
    """The largest log2 of a group's values (0 when no value exceeds 1)."""
    x = _f(values)
    top = np.nanmax(x) if x.size and not np.all(np.isnan(x)) else 0.0
    return float(np.log2(top)) if top > 1 else 0.0


def sales_structure(amount: Any, volume: Any, group_amount: Any, group_volume: Any) -> Floats:
    """50 + (A/V - Ac/Vc) yuan per carton, clamped to 0-100; unknown when V or Vc is 0."""
    a, v, ac, vc = _f(amount), _f(volume), _f(group_amount), _f(group_volume)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 50.0 + (a / v - ac / vc)
    return np.where((v > 0) & (vc > 0), np.clip(score, 0.0, 100.0), np.nan)


def share(value: Any, group_total: Any) -> Floats:
    """min(100, (X/Xc)/0.000025); unknown when the group total is 0 (volume/amount share)."""
    x, total = _f(value), _f(group_total)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.minimum(100.0, np.maximum(0.0, x / total) / SHARE_UNIT)
    return np.where(total > 0, score, np.nan)


def key_brand_variety(count: Any) -> Floats:
    """n < 10 → 0; n ≥ 19 → 100; else (n-10)·10+10."""
    n = _f(count)
    return np.where(n < 10, 0.0, np.where(n >= 19, 100.0, (n - 10.0) * 10.0 + 10.0))


def promotion_uptake(rank: Any, cartons: Any) -> Floats:
    """Rank by promoted cartons in the group: 1-20 → 100, 21-100 → 50, else (or none) 0."""
    r, c = _f(rank), _f(cartons)
    return np.where(c <= 0, 0.0, np.where(r <= 20, 100.0, np.where(r <= 100, 50.0, 0.0)))


def ratio_score(part: Any, whole: Any) -> Floats:
    """100·part/whole; unknown when whole is 0 (e-settlement orders / amount)."""
    p, w = _f(part), _f(whole)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.clip(100.0 * p / w, 0.0, 100.0)
    return np.where(w > 0, score, np.nan)


def display_capability(count: Any) -> Floats:
    """n = display_sku_count: n < 10 → 0; n > 20 → 100; else 20 + (n-10)·8."""
    n = _f(count)
    score = np.where(n < 10, 0.0, np.where(n > 20, 100.0, 20.0 + (n - 10.0) * 8.0))
    return np.where(np.isnan(n), np.nan, score)


def consumer_complaints(count: Any) -> Floats:
    """k consumer complaints in the period: max(0, 100 - 25k)."""
    return np.maximum(0.0, 100.0 - 25.0 * _f(count))


def convenience(hours: Any) -> Floats:
    """h = business_hours: h < 10 → 0; else 44 + (h-10)·4 (24 h → 100)."""
    h = _f(hours)
    score = np.where(h < 10, 0.0, np.minimum(100.0, 44.0 + (h - 10.0) * 4.0))
    return np.where(np.isnan(h), np.nan, score)


def sales_growth(volume: Any, last_year_volume: Any) -> Floats:
    """g = V/V(last year) - 1: g ≥ 0.10 → 100; g ≤ 0 → 0; else 1000·g; unknown without last year."""
    v, prior = _f(volume), _f(last_year_volume)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = v / prior - 1.0
    score = np.where(growth >= 0.10, 100.0, np.where(growth <= 0, 0.0, 1000.0 * growth))
    return np.where(prior > 0, score, np.nan)


def category_score(name: str, codes: Any) -> Floats:
    """Score of a categorical indicator from vocabulary indexes (NaN code = never recorded)."""
    table = np.array(list(CATEGORY_TABLES[name].values()), dtype=np.float64)
    c = _f(codes)
    safe = np.where(np.isnan(c), 0, c).astype(np.int64)
    return np.where(np.isnan(c), np.nan, table[np.clip(safe, 0, len(table) - 1)])


def encode_category(name: str, values: Any) -> Floats:
    """Vocabulary indexes of raw strings; unrecognised values fall back to `other` if the
    table has it, else they are unknown (NaN) — never silently scored."""
    vocabulary = VOCABULARY[name]
    lookup: Mapping[str, int] = {value: index for index, value in enumerate(vocabulary)}
    fallback = lookup.get("other")
    array = np.asarray(values, dtype=object).reshape(-1)
    uniques, inverse = np.unique(np.where(array == None, "", array), return_inverse=True)  # noqa: E711
    mapped = np.array(
        [
            float(lookup[u])
            if u in lookup
            else (float(fallback) if (u and fallback is not None) else np.nan)
            for u in uniques.tolist()
        ],
        dtype=np.float64,
    )
    return mapped[inverse] if mapped.size else np.full(array.shape, np.nan)


def decode_category(name: str, code: float) -> str | None:
    """The raw value of a stored vocabulary index."""
    if code != code:  # NaN
        return None
    return VOCABULARY[name][int(code)]
