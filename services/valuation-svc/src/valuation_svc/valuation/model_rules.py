"""Value models: the default version 1 and validation (pure)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from valuation_svc.valuation.indicators import DIMENSION_OF, DIMENSIONS

MARKET_TYPES = ("urban", "rural")
WEIGHT_TOLERANCE = 0.001


def _dimension(weight: float, indicators: dict[str, float]) -> dict[str, Any]:
    return {"weight": weight, "indicators": indicators}


def _weights(market: str) -> dict[str, Any]:
    urban = market == "urban"
    return {
        "contribution": _dimension(
            40 if urban else 35,
            {
                "sales_volume": 0.15 if urban else 0.25,
                "sales_amount": 0.15,
                "sales_structure": 0.15,
                "gross_profit": 0.25 if urban else 0.15,
                "volume_share": 0.15,
                "amount_share": 0.15,
            },
        ),
        "support": _dimension(
            20,
            {
                "key_brand_variety": 0.25,
                "promotion_uptake": 0.15,
                "e_settlement_orders": 0.15,
                "e_settlement_amount": 0.15,
                "display_capability": 0.30,
            },
        ),
        "credit": _dimension(
            20, {"lawful_operation": 0.50, "consumer_complaints": 0.30, "price_labeling": 0.20}
        ),
        "influence": _dimension(10, {"renown": 0.40, "reputation": 0.20, "display_form": 0.40}),
        "growth": _dimension(
            10 if urban else 15,
            {
                "trading_area": 0.30,
                "business_format": 0.30,
                "convenience": 0.20,
                "sales_growth": 0.20,
            },
        ),
    }


DEFAULT_MODEL: dict[str, Any] = {
    "weights": {market: _weights(market) for market in MARKET_TYPES},
    "thresholds": {
        "position": {"A": 0.05, "B": 0.25, "C": 0.85},
        "credit": {"A": 17.0, "B": 15.0, "D": 10.0},
        "no_order_days": 30,
    },
    "quadrant": {"mode": "median", "current": None, "potential": None},
    "ranking_group": "county_market_type",
}


def default_model() -> dict[str, Any]:
    """A fresh copy of the default value model (version 1)."""
    return copy.deepcopy(DEFAULT_MODEL)


@dataclass(frozen=True)
class ModelError:
    """One rule a submitted model breaks: the field (dotted path), the rule and why."""

    field: str
    rule: str
    message: str


def validate_model(model: dict[str, Any]) -> list[ModelError]:
    """Every rule the model breaks (empty when valid)."""
    errors: list[ModelError] = []
    weights = model.get("weights", {})
    for market in MARKET_TYPES:
        if market not in weights:
            errors.append(ModelError(f"weights.{market}", "required", f"weights for {market}"))
    for market, dimensions in weights.items():
        base = f"weights.{market}"
        if market not in MARKET_TYPES:
            errors.append(
                ModelError(base, "unknown_market_type", f"{market!r} is not a market type")
            )
            continue
        if set(dimensions) != set(DIMENSIONS):
            errors.append(
                ModelError(base, "dimensions", f"exactly the dimensions {sorted(DIMENSIONS)}")
            )
            continue
        total = sum(float(spec["weight"]) for spec in dimensions.values())
        if abs(total - 100.0) > WEIGHT_TOLERANCE:
            errors.append(
                ModelError(
                    base, "dimension_weights_sum", f"dimension weights sum to {total}, not 100"
                )
            )
        for dimension, spec in dimensions.items():
            field = f"{base}.{dimension}.indicators"
            if float(spec["weight"]) < 0:
                errors.append(ModelError(f"{base}.{dimension}.weight", "range", "must be ≥ 0"))
            indicators: dict[str, float] = spec["indicators"]
            for name, weight in indicators.items():
                if name not in DIMENSION_OF:
                    errors.append(ModelError(f"{field}.{name}", "unknown_indicator", name))
                elif DIMENSION_OF[name] != dimension:
                    errors.append(
                        ModelError(
                            f"{field}.{name}",
                            "wrong_dimension",
                            f"{name} belongs to {DIMENSION_OF[name]}",
                        )
                    )
                if weight < 0:
                    errors.append(ModelError(f"{field}.{name}", "range", "must be ≥ 0"))
            indicator_total = sum(indicators.values())
            if abs(indicator_total - 1.0) > WEIGHT_TOLERANCE:
                errors.append(
                    ModelError(field, "indicator_weights_sum", f"sum to {indicator_total:g}, not 1")
                )
    errors.extend(_threshold_errors(model))
    return errors


def _threshold_errors(model: dict[str, Any]) -> list[ModelError]:
    errors: list[ModelError] = []
    thresholds = model.get("thresholds", {})
    position = thresholds.get("position", {})
    a, b, c = (float(position.get(key, -1)) for key in ("A", "B", "C"))
    if not 0 < a < b < c < 1:
        errors.append(
            ModelError(
                "thresholds.position", "range", "need 0 < A < B < C < 1 (shares of the group)"
            )
        )
    credit = thresholds.get("credit", {})
    credit_cap = min(
        (
            float(dims["credit"]["weight"])
            for dims in model.get("weights", {}).values()
            if isinstance(dims, dict) and "credit" in dims
        ),
        default=0.0,
    )
    ca, cb, cd = (float(credit.get(key, -1)) for key in ("A", "B", "D"))
    if not (0 <= cd <= cb <= ca <= credit_cap):
        errors.append(
            ModelError(
                "thresholds.credit",
                "range",
                f"need 0 ≤ D ≤ B ≤ A ≤ {credit_cap:g} (credit points)",
            )
        )
    days = thresholds.get("no_order_days", 0)
    if not 1 <= int(days) <= 366:
        errors.append(ModelError("thresholds.no_order_days", "range", "between 1 and 366"))
    quadrant = model.get("quadrant", {})
    if quadrant.get("mode") == "fixed":
        for axis in ("current", "potential"):
            value = quadrant.get(axis)
            if value is None or not 0 <= float(value) <= 100:
                errors.append(
                    ModelError(f"quadrant.{axis}", "range", "a fixed cut-off between 0 and 100")
                )
    return errors
