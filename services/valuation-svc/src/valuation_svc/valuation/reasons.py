"""Human-readable reasons of a classification (pure)."""

from __future__ import annotations

from typing import Any

from valuation_svc.valuation.classify import (
    CLASSES,
    FLAG_LOW_CREDIT,
    FLAG_NO_RECENT_ORDER,
    FLAG_VIOLATION,
)


def _num(value: float) -> str:
    return f"{value:g}"


def classification_reasons(
    *,
    rank: int,
    group_size: int,
    rank_class: str,
    value_class: str,
    credit: float,
    flags: int,
    thresholds: dict[str, Any],
    excluded: list[str],
    quadrant: str | None = None,
) -> list[str]:
    """Why the shop got its class: the rank rule, each credit demotion, each problem rule."""
    rules = thresholds["credit"]
    position = 100.0 * rank / max(group_size, 1)
    line = f"rank {rank} of {group_size} ({position:.1f}%) qualifies for {rank_class}"
    demoted = rank_class
    if rank_class == "A" and credit < rules["A"]:
        demoted = "B" if credit >= rules["B"] else "C"
        line += f"; credit {credit:.1f} < {_num(rules['A'])} → {demoted}"
        if demoted == "C":
            line += f" (credit {credit:.1f} < {_num(rules['B'])} for B)"
    elif rank_class == "B" and credit < rules["B"]:
        demoted = "C"
        line += f"; credit {credit:.1f} < {_num(rules['B'])} → C"
    reasons = [line]
    if flags & FLAG_LOW_CREDIT:
        reasons.append(f"problem customer: credit {credit:.1f} ≤ {_num(rules['D'])}")
    if flags & FLAG_VIOLATION:
        reasons.append(
            "problem customer: violation in the period (counterfeit, smuggled, non-channel "
            "cigarettes or violent resistance to enforcement)"
        )
    if flags & FLAG_NO_RECENT_ORDER:
        reasons.append(
            f"problem customer: no order in the {thresholds['no_order_days']} days up to as_of"
        )
    if value_class != "problem" and value_class != demoted:  # pragma: no cover - consistency
        reasons.append(f"class {value_class}")
    if quadrant is not None:
        reasons.append(f"quadrant {quadrant}")
    for name in excluded:
        reasons.append(f"{name} excluded: input unknown, its weight shared within its dimension")
    return reasons


def class_name(code: int) -> str:
    """Class name of a class code."""
    return CLASSES[code]
