"""How a run writes: ranking groups, binary COPY of results, time-ordered event ids."""

import itertools
import struct
import uuid

import numpy as np

from valuation_svc.valuation import indicators as ind
from valuation_svc.valuation.classify import CLASSES, QUADRANTS, Population
from valuation_svc.valuation.engine import (
    COPY_HEADER,
    COPY_TRAILER,
    RESULT_COLUMNS,
    result_copy_chunks,
    run_outputs,
    uuid_bytes,
)
from valuation_svc.valuation.model_rules import default_model
from valuation_svc.valuation.population import FLOAT_COLUMNS, LoadedPopulation, ranking_groups
from valuation_svc.valuation.repository import event_id_prefix

TEXT = {"period", "county", "market_type", "value_class", "quadrant", "rank_class"}
UUIDS = {"run_id", "customer_id"}
INTS = {"model_version", "rank", "group_size", "flags"}
VECTORS = {"dimensions", "scores", "inputs"}


def decode_copy(data: bytes) -> list[dict[str, object]]:
    """Rows of PostgreSQL binary COPY data in RESULT_COLUMNS order."""
    assert data.startswith(COPY_HEADER) and data.endswith(COPY_TRAILER)
    at, rows = len(COPY_HEADER), []
    while data[at : at + 2] != COPY_TRAILER:
        (count,) = struct.unpack_from(">h", data, at)
        assert count == len(RESULT_COLUMNS)
        at += 2
        row: dict[str, object] = {}
        for name in RESULT_COLUMNS:
            (length,) = struct.unpack_from(">i", data, at)
            raw = data[at + 4 : at + 4 + length]
            at += 4 + length
            if name in TEXT:
                row[name] = raw.decode()
            elif name in UUIDS:
                row[name] = uuid.UUID(bytes=raw)
            elif name in INTS:
                row[name] = struct.unpack(">i", raw)[0]
            elif name in VECTORS:
                row[name] = np.frombuffer(raw, dtype="<f8").tolist()
            else:
                row[name] = struct.unpack(">d", raw)[0]
        rows.append(row)
    return rows


def population(n: int) -> LoadedPopulation:
    """n shops in two counties, urban and rural, with varied figures."""
    rng = np.random.default_rng(7)
    counties = [f"C{i % 2}" for i in range(n)]
    markets = ["rural" if i % 3 == 0 else "urban" for i in range(n)]
    group, labels = ranking_groups(counties, markets, "county_market_type")
    columns = {name: rng.uniform(0, 30, n) for name in FLOAT_COLUMNS}
    columns["last_year_volume"][::5] = np.nan
    for code_column in ("compliance_grade", "price_labeling", "renown", "reputation"):
        columns[code_column] = rng.integers(0, 2, n).astype(np.float64)
    for code_column in ("display_form", "trading_area", "business_format"):
        columns[code_column] = rng.integers(0, 5, n).astype(np.float64)
    return LoadedPopulation(
        population=Population(
            group=group,
            market_rural=np.array([m == "rural" for m in markets]),
            columns=columns,
            violation=np.arange(n) % 11 == 0,
            recent_order=np.arange(n) % 13 != 0,
        ),
        customer_ids=[str(uuid.uuid4()) for _ in range(n)],
        counties=counties,
        market_types=markets,
        group_labels=labels,
    )


def test_ranking_groups_are_numbered_in_label_order() -> None:
    group, labels = ranking_groups(
        ["C2", "C1", "C2", "C1"], ["urban", "rural", "rural", "rural"], "county_market_type"
    )
    assert labels == [("C1", "rural"), ("C2", "rural"), ("C2", "urban")]
    assert group.tolist() == [2, 0, 1, 0]
    group, labels = ranking_groups(["C2", "C1", "C2"], ["urban", "rural", "rural"], "county")
    assert labels == [("C1", "*"), ("C2", "*")]
    assert group.tolist() == [1, 0, 1]


def test_uuid_bytes_match_uuid_module() -> None:
    ids = [str(uuid.uuid4()) for _ in range(50)] + ["0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9"]
    assert [bytes(row) for row in uuid_bytes(ids)] == [uuid.UUID(i).bytes for i in ids]


def test_binary_copy_holds_every_result_exactly_in_customer_order() -> None:
    loaded = population(500)
    scored, classified, _, _ = run_outputs(loaded, default_model(), model_version=3, excluded=[])
    run_id = uuid.uuid4()
    pieces = list(
        result_copy_chunks(
            loaded, scored, classified, run_id=run_id, period="2026H1", model_version=3, chunk=64
        )
    )
    rows = decode_copy(b"".join(pieces))
    assert len(rows) == 500
    # Each piece covers the next range of customer ids (index inserts stay local).
    ranges = [
        sorted(row["customer_id"].bytes for row in decode_copy(COPY_HEADER + piece + COPY_TRAILER))  # type: ignore[union-attr]
        for piece in pieces[1:-1]
    ]
    assert [len(piece) for piece in ranges] == [64] * 7 + [52]
    assert all(a[-1] < b[0] for a, b in itertools.pairwise(ranges))
    index = {value: i for i, value in enumerate(loaded.customer_ids)}
    for row in rows:
        i = index[str(row["customer_id"])]
        assert row["run_id"] == run_id and row["period"] == "2026H1"
        assert row["model_version"] == 3
        assert row["county"] == loaded.counties[i]
        assert row["market_type"] == loaded.market_types[i]
        assert row["value_class"] == CLASSES[classified.value_class[i]]
        assert row["rank_class"] == CLASSES[classified.rank_class[i]]
        assert row["quadrant"] == QUADRANTS[classified.quadrant[i]]
        assert row["total_score"] == round(float(scored.total[i]), 6)
        assert row["credit_score"] == float(scored.credit[i])
        assert row["rank"] == classified.rank[i]
        assert row["group_size"] == classified.group_size[i]
        assert row["position"] == classified.position[i]
        assert row["flags"] == classified.flags[i]
        assert len(row["dimensions"]) == len(ind.DIMENSIONS)  # type: ignore[arg-type]
        np.testing.assert_array_equal(row["scores"], scored.scores[i])  # type: ignore[arg-type]
        np.testing.assert_array_equal(row["inputs"], scored.inputs[i])  # type: ignore[arg-type]


def test_binary_copy_of_no_results_is_header_and_trailer() -> None:
    loaded = LoadedPopulation(
        population=Population(
            group=np.zeros(0, dtype=np.int64),
            market_rural=np.zeros(0, dtype=bool),
            columns={name: np.zeros(0) for name in FLOAT_COLUMNS},
            violation=np.zeros(0, dtype=bool),
            recent_order=np.zeros(0, dtype=bool),
        ),
        customer_ids=[],
        counties=[],
        market_types=[],
        group_labels=[],
    )
    scored, classified, _, _ = run_outputs(loaded, default_model(), model_version=1, excluded=[])
    data = b"".join(
        result_copy_chunks(
            loaded, scored, classified, run_id=uuid.uuid4(), period="2026H1", model_version=1
        )
    )
    assert data == COPY_HEADER + COPY_TRAILER


def test_event_ids_are_valid_time_ordered_uuid7() -> None:
    prefix = event_id_prefix(now_ms=1_790_000_000_000)
    ids = [uuid.UUID(prefix + f"{n:012x}") for n in (1, 2, 300)]
    assert all(value.version == 7 and value.variant == uuid.RFC_4122 for value in ids)
    assert ids == sorted(ids)
    assert int(prefix[:12], 16) == 1_790_000_000_000
    assert event_id_prefix() != event_id_prefix()
