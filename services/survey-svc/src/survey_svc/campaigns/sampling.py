"""Stratified random sampling without replacement (pure: numpy only, no framework imports)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

# The seeds' floor: a sample below 5% of the shops is not worth reporting.
MINIMUM_RATE = 0.05

StratumKey = tuple[str | None, ...]


@dataclass(frozen=True)
class FrameUnit:
    """One shop of the sampling frame."""

    customer_id: str
    stratum: StratumKey
    recently_surveyed: bool = False


@dataclass(frozen=True)
class StratumPlan:
    """How many shops a stratum has and how many were drawn."""

    key: StratumKey
    population: int
    sample_size: int
    fresh_available: int
    drawn_from_recent: int


@dataclass(frozen=True)
class SampleDraw:
    """The drawn shops and the per-stratum plan."""

    selected: list[str]
    strata: list[StratumPlan]
    stratum_of: dict[str, int]  # every frame unit's customer id -> index into `strata`


def stratum_sample_size(population: int, rate: float, minimum: int) -> int:
    """n_h = min(N_h, max(minimum, round(rate · N_h))), rounding halves up."""
    exact = Decimal(str(rate)) * population
    rounded = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(population, max(minimum, rounded))


def draw_stratified_sample(
    frame: Sequence[FrameUnit], *, rate: float, min_per_stratum: int, seed: int
) -> SampleDraw:
    """Draw every stratum without replacement; the same frame and seed give the same sample.

    The frame is put in a canonical order first (stratum, then customer id), so the order the
    database returns rows in does not matter. Shops surveyed recently are drawn only when a
    stratum cannot be filled from the others.
    """
    if not MINIMUM_RATE <= rate <= 1:
        raise ValueError(f"rate must be between {MINIMUM_RATE} and 1")
    generator = np.random.Generator(np.random.PCG64(seed))
    by_stratum: dict[StratumKey, list[FrameUnit]] = {}
    for unit in frame:
        by_stratum.setdefault(unit.stratum, []).append(unit)
    selected: list[str] = []
    strata: list[StratumPlan] = []
    stratum_of: dict[str, int] = {}
    for key in sorted(by_stratum, key=_sortable):
        units = sorted(by_stratum[key], key=lambda unit: unit.customer_id)
        fresh = [unit.customer_id for unit in units if not unit.recently_surveyed]
        recent = [unit.customer_id for unit in units if unit.recently_surveyed]
        size = stratum_sample_size(len(units), rate, min_per_stratum)
        from_fresh = min(size, len(fresh))
        from_recent = size - from_fresh
        drawn = [fresh[i] for i in sorted(generator.choice(len(fresh), from_fresh, replace=False))]
        if from_recent:
            picks = generator.choice(len(recent), from_recent, replace=False)
            drawn += [recent[i] for i in sorted(picks)]
        index = len(strata)
        strata.append(StratumPlan(key, len(units), size, len(fresh), from_recent))
        for unit in units:
            stratum_of[unit.customer_id] = index
        selected.extend(drawn)
    return SampleDraw(selected, strata, stratum_of)


def _sortable(key: StratumKey) -> tuple[tuple[bool, str], ...]:
    # None sorts first and never compares with a string.
    return tuple((part is not None, part or "") for part in key)
