"""Turning an evaluated population into result rows, group rows and the run summary (pure)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
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
from valuation_svc.valuation.pgcopy import COPY_HEADER, COPY_TRAILER, customer_order, uuid_bytes
from valuation_svc.valuation.population import LoadedPopulation

__all__ = ["COPY_HEADER", "COPY_TRAILER", "RESULT_COLUMNS", "result_copy_chunks", "uuid_bytes"]


def promoted_cuts(
    values: np.ndarray[Any, Any], group: np.ndarray[Any, Any], groups: int, ranks: tuple[int, ...]
) -> list[np.ndarray[Any, Any]]:
    """Promoted cartons of the shop at each rank in each group (0 when the group is smaller),
    from one sort."""
    order = np.lexsort((-values, group))
    sorted_values = values[order]
    counts = np.bincount(group, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if groups else np.zeros(0, int)
    cuts = []
    for rank in ranks:
        out = np.zeros(groups)
        has = counts >= rank
        out[has] = sorted_values[starts[has] + rank - 1]
        cuts.append(out)
    return cuts


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


def _row_dtype(texts: dict[str, bytes]) -> np.dtype[Any]:
    """Binary COPY layout of one result row whose text columns have the given values."""
    kinds = {
        "run_id": "V16",
        "customer_id": "V16",
        "model_version": ">i4",
        "total_score": ">f8",
        "current_value": ">f8",
        "potential_value": ">f8",
        "credit_score": ">f8",
        "rank": ">i4",
        "group_size": ">i4",
        "position": ">f8",
        "flags": ">i4",
        "dimensions": f"V{8 * len(ind.DIMENSIONS)}",
        "scores": f"V{8 * len(ind.INDICATORS)}",
        "inputs": f"V{8 * len(ind.INDICATORS)}",
    }
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for name in RESULT_COLUMNS:
        kind = f"S{len(texts[name])}" if name in texts else kinds[name]
        fields += [(f"{name}_length", ">i4"), (name, kind)]
    return np.dtype(fields)


def result_copy_chunks(
    loaded: LoadedPopulation,
    scored: Scored,
    classified: Classified,
    *,
    run_id: uuid.UUID,
    period: str,
    model_version: int,
    chunk: int = 100_000,
) -> Iterator[bytes]:
    """The result rows as PostgreSQL binary COPY data (RESULT_COLUMNS order), in pieces of
    `chunk` rows, built column-wise by numpy: rows sharing their text values (county, market
    type, class, quadrant, rank class) have one fixed layout, so each such cell is one
    structured array. Rows go in customer_id order so index inserts stay local."""
    n = len(loaded.customer_ids)
    ids = loaded.id_bytes
    order = customer_order(ids)
    cells, cell_labels = loaded.cells
    cell_count = len(cell_labels)
    key = (
        (cells * len(CLASSES) + classified.value_class) * len(QUADRANTS) + classified.quadrant
    ) * len(CLASSES) + classified.rank_class
    dimensions = np.round(scored.dimensions, 6).astype(VECTOR)
    scores = np.ascontiguousarray(scored.scores, dtype=VECTOR)
    inputs = np.ascontiguousarray(scored.inputs, dtype=VECTOR)
    total = np.round(scored.total, 6)
    current = np.round(scored.current, 6)
    potential = np.round(scored.potential, 6)
    yield COPY_HEADER
    for start in range(0, n, chunk):
        rows = order[start : start + chunk]
        by_cell = rows[np.argsort(key[rows], kind="stable")]
        cell_keys = key[by_cell]
        bounds = np.flatnonzero(np.diff(cell_keys)) + 1
        pieces: list[bytes] = []
        for part in np.split(by_cell, bounds):
            code = int(key[part[0]])
            code, rank_code = divmod(code, len(CLASSES))
            code, quadrant_code = divmod(code, len(QUADRANTS))
            cell, class_code = divmod(code, len(CLASSES))
            assert cell < cell_count
            county, market = cell_labels[cell]
            texts = {
                "period": period.encode(),
                "county": county.encode(),
                "market_type": market.encode(),
                "value_class": CLASSES[class_code].encode(),
                "quadrant": QUADRANTS[quadrant_code].encode(),
                "rank_class": CLASSES[rank_code].encode(),
            }
            block = np.zeros(len(part), dtype=_row_dtype(texts))
            block["count"] = len(RESULT_COLUMNS)
            for name in RESULT_COLUMNS:
                block[f"{name}_length"] = block.dtype[name].itemsize
            for name, value in texts.items():
                block[name] = value
            block["run_id"] = np.frombuffer(run_id.bytes, dtype="V16")[0]
            block["customer_id"] = ids[part].view("V16").reshape(-1)
            block["model_version"] = model_version
            block["total_score"] = total[part]
            block["current_value"] = current[part]
            block["potential_value"] = potential[part]
            block["credit_score"] = scored.credit[part]
            block["rank"] = classified.rank[part]
            block["group_size"] = classified.group_size[part]
            block["position"] = classified.position[part]
            block["flags"] = classified.flags[part]
            block["dimensions"] = dimensions[part].view(block.dtype["dimensions"]).reshape(-1)
            block["scores"] = scores[part].view(block.dtype["scores"]).reshape(-1)
            block["inputs"] = inputs[part].view(block.dtype["inputs"]).reshape(-1)
            pieces.append(block.tobytes())
        yield b"".join(pieces)
    yield COPY_TRAILER


def run_group_rows(
    loaded: LoadedPopulation, stats: GroupStats, classified: Classified, groups: int
) -> list[dict[str, Any]]:
    """What previews need from each ranking group."""
    promoted = loaded.population.columns["promoted_cartons"]
    cut20, cut100 = promoted_cuts(promoted, loaded.population.group, groups, (20, 100))
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
    matrix = np.bincount(
        classified.value_class * len(QUADRANTS) + classified.quadrant,
        minlength=len(CLASSES) * len(QUADRANTS),
    ).reshape(len(CLASSES), len(QUADRANTS))
    cells, cell_labels = loaded.cells
    # Counties in name order, from the few cells instead of a million strings.
    county_names = sorted({county for county, _ in cell_labels})
    county_of_cell = np.array(
        [county_names.index(county) for county, _ in cell_labels], dtype=np.int64
    )
    county_index = county_of_cell[cells]
    per_county = np.bincount(
        county_index * len(CLASSES) + classified.value_class,
        minlength=len(county_names) * len(CLASSES),
    ).reshape(len(county_names), len(CLASSES))
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
            for i, county in enumerate(county_names)
            if per_county[i].any()
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
