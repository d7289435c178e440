"""Turning an evaluated population into result rows, group rows and the run summary (pure)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import numpy as np

from valuation_svc.valuation import indicators as ind
from valuation_svc.valuation.classify import (
    CLASSES,
    QUADRANTS,
    Classified,
    GroupStats,
    Scored,
    evaluate,
)
from valuation_svc.valuation.population import LoadedPopulation


def promoted_cut(
    values: np.ndarray[Any, Any], group: np.ndarray[Any, Any], groups: int, rank: int
) -> np.ndarray[Any, Any]:
    """Promoted cartons of the shop at `rank` in each group (0 when the group is smaller)."""
    out = np.zeros(groups)
    order = np.lexsort((-values, group))
    sorted_values = values[order]
    counts = np.bincount(group, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if groups else np.zeros(0, int)
    has = counts >= rank
    out[has] = sorted_values[starts[has] + rank - 1]
    return out


def run_outputs(
    loaded: LoadedPopulation,
    model: dict[str, Any],
    *,
    model_version: int,
    excluded: list[tuple[str, str]],
) -> tuple[Scored, Classified, list[dict[str, Any]], dict[str, Any]]:
    """Scores, classes, run-group rows and the summary of a whole population."""
    groups = len(loaded.group_labels)
    scored, classified, stats = evaluate(loaded.population, groups, model)
    group_rows = run_group_rows(loaded, stats, classified, groups)
    summary = run_summary(loaded, scored, classified, excluded, model_version)
    return scored, classified, group_rows, summary


VECTOR = np.dtype("<f8")


def pack_rows(matrix: np.ndarray[Any, Any]) -> list[bytes]:
    """Each row of a float matrix as little-endian float64 bytes."""
    contiguous = np.ascontiguousarray(matrix, dtype=VECTOR)
    width = contiguous.shape[1] * VECTOR.itemsize if contiguous.ndim == 2 else 0
    raw = contiguous.tobytes()
    return [raw[i : i + width] for i in range(0, len(raw), width)] if width else []


def pack(values: Any) -> bytes:
    """One float vector as little-endian float64 bytes."""
    return np.asarray(values, dtype=VECTOR).tobytes()


def unpack(raw: bytes) -> list[float]:
    """A packed float vector."""
    return [float(value) for value in np.frombuffer(raw, dtype=VECTOR)]


RESULT_COLUMNS = (
    "run_id",
    "customer_id",
    "period",
    "county",
    "market_type",
    "model_version",
    "value_class",
    "quadrant",
    "total_score",
    "current_value",
    "potential_value",
    "credit_score",
    "rank",
    "group_size",
    "position",
    "rank_class",
    "flags",
    "dimensions",
    "scores",
    "inputs",
)


def result_records(
    loaded: LoadedPopulation,
    scored: Scored,
    classified: Classified,
    *,
    run_id: uuid.UUID,
    period: str,
    model_version: int,
    start: int = 0,
    stop: int | None = None,
) -> list[tuple[Any, ...]]:
    """Tuples of rows start:stop in RESULT_COLUMNS order (arrays as lists; NaN = excluded)."""
    rows = slice(start, len(loaded.customer_ids) if stop is None else stop)
    ids = [uuid.UUID(value) for value in loaded.customer_ids[rows]]
    n = len(ids)
    class_names = np.array(CLASSES, dtype=object)[classified.value_class[rows]].tolist()
    rank_names = np.array(CLASSES, dtype=object)[classified.rank_class[rows]].tolist()
    quadrant_names = np.array(QUADRANTS, dtype=object)[classified.quadrant[rows]].tolist()
    return list(
        zip(
            [run_id] * n,
            ids,
            [period] * n,
            loaded.counties[rows],
            loaded.market_types[rows],
            [model_version] * n,
            class_names,
            quadrant_names,
            np.round(scored.total[rows], 6).tolist(),
            np.round(scored.current[rows], 6).tolist(),
            np.round(scored.potential[rows], 6).tolist(),
            scored.credit[rows].tolist(),
            classified.rank[rows].tolist(),
            classified.group_size[rows].tolist(),
            classified.position[rows].tolist(),
            rank_names,
            classified.flags[rows].tolist(),
            pack_rows(np.round(scored.dimensions[rows], 6)),
            pack_rows(scored.scores[rows]),
            pack_rows(scored.inputs[rows]),
            strict=True,
        )
    )


def run_group_rows(
    loaded: LoadedPopulation, stats: GroupStats, classified: Classified, groups: int
) -> list[dict[str, Any]]:
    """What previews need from each ranking group."""
    promoted = loaded.population.columns["promoted_cartons"]
    cut20 = promoted_cut(promoted, loaded.population.group, groups, 20)
    cut100 = promoted_cut(promoted, loaded.population.group, groups, 100)
    return [
        {
            "county": county,
            "market_type": market,
            "size": int(stats.size[g]),
            "log2max_volume": float(stats.log2max_volume[g]),
            "log2max_amount": float(stats.log2max_amount[g]),
            "log2max_profit": float(stats.log2max_profit[g]),
            "total_volume": float(stats.total_volume[g]),
            "total_amount": float(stats.total_amount[g]),
            "cutoff_current": float(classified.cutoffs["current"][g]),
            "cutoff_potential": float(classified.cutoffs["potential"][g]),
            "promoted_20th": float(cut20[g]),
            "promoted_100th": float(cut100[g]),
        }
        for g, (county, market) in enumerate(loaded.group_labels)
    ]


def run_summary(
    loaded: LoadedPopulation,
    scored: Scored,
    classified: Classified,
    excluded: list[tuple[str, str]],
    model_version: int,
) -> dict[str, Any]:
    """Counts per class x quadrant, per county, score deciles, exclusions."""
    n = len(loaded.customer_ids)
    matrix = np.zeros((len(CLASSES), len(QUADRANTS)), dtype=np.int64)
    np.add.at(matrix, (classified.value_class, classified.quadrant), 1)
    county_names, county_index = (
        np.unique(np.array(loaded.counties, dtype=object), return_inverse=True)
        if n
        else (np.array([], dtype=object), np.zeros(0, dtype=np.int64))
    )
    per_county = np.zeros((len(county_names), len(CLASSES)), dtype=np.int64)
    np.add.at(per_county, (county_index, classified.value_class), 1)
    deciles = np.round(np.quantile(scored.total, np.linspace(0.1, 0.9, 9)), 4).tolist() if n else []
    excluded_indicators = np.isnan(scored.scores).sum(axis=0) if n else np.zeros(21)
    return {
        "model_version": model_version,
        "evaluated": n,
        "classes": {
            name: {q: int(matrix[c, k]) for k, q in enumerate(QUADRANTS)}
            for c, name in enumerate(CLASSES)
        },
        "counties": {
            str(county): {
                **{name: int(per_county[i, c]) for c, name in enumerate(CLASSES)},
                "total": int(per_county[i].sum()),
            }
            for i, county in enumerate(county_names.tolist())
        },
        "score_deciles": deciles,
        "excluded_indicators": {
            name: int(count)
            for name, count in zip(ind.INDICATORS, excluded_indicators.tolist(), strict=True)
            if count
        },
        "not_evaluated": {
            "count": len(excluded),
            "by_reason": dict(Counter(reason for _, reason in excluded)),
            "shops": [{"customer_id": cid, "reason": reason} for cid, reason in excluded],
        },
    }
