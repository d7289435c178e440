"""Binary COPY pieces of a run: fixed-width decoding of the population, UUID and float8 text,
row blocks, ids lookup, and the population built from decoded rows."""

import struct
import uuid

import numpy as np
import pytest

from valuation_svc.valuation.pgcopy import (
    COPY_HEADER,
    COPY_TRAILER,
    FixedRowsDecoder,
    copy_block,
    customer_order,
    find_ids,
    float8_text,
    pg_float8_text,
    uuid_bytes,
    uuid_text,
)
from valuation_svc.valuation.population import (
    COPY_FIELDS,
    FLOAT_COLUMNS,
    CellLabels,
    LoadedPopulation,
    UuidTexts,
    decoded_population,
    groups_of_cells,
    population_decoder,
    ranking_groups,
)


def copy_row(values: list[bytes | None]) -> bytes:
    """One binary COPY row as PostgreSQL writes it (None = NULL)."""
    out = struct.pack(">h", len(values))
    for value in values:
        out += struct.pack(">i", -1) if value is None else struct.pack(">i", len(value)) + value
    return out


def population_row(
    customer_id: uuid.UUID, cell: int, violation: bool, recent: bool, floats: list[float]
) -> bytes:
    return copy_row(
        [
            customer_id.bytes,
            struct.pack(">i", cell),
            bytes([violation]),
            bytes([recent]),
            *(struct.pack(">d", value) for value in floats),
        ]
    )


def floats_of(i: int) -> list[float]:
    values = [float(i * 10 + k) for k in range(len(FLOAT_COLUMNS))]
    values[FLOAT_COLUMNS.index("last_year_volume")] = np.nan if i % 2 else 7.5
    values[FLOAT_COLUMNS.index("renown")] = np.nan if i % 3 == 0 else 2.0
    return values


def stream(rows: list[bytes]) -> bytes:
    return COPY_HEADER + b"".join(rows) + COPY_TRAILER


def test_population_stream_decodes_in_any_pieces_with_nan_codes_and_cells() -> None:
    ids = [uuid.uuid4() for _ in range(7)]
    labels = [("C1", "rural"), ("C1", "urban"), ("C2", "urban")]
    cells = [1, 2, 3, 2, 1, 3, 2]  # 1-based codes into labels
    data = stream(
        [population_row(ids[i], cells[i], i == 4, i != 2, floats_of(i)) for i in range(len(ids))]
    )
    for piece in (1, 5, 19, 20, 77, len(data)):
        decoder = population_decoder()
        for start in range(0, len(data), piece):
            decoder.feed(data[start : start + piece])
        loaded = decoded_population(decoder.finish(), labels, "county_market_type")
        assert list(loaded.customer_ids) == [str(i) for i in ids]
        assert loaded.customer_ids[3] == str(ids[3]) and loaded.customer_ids[-1] == str(ids[-1])
        assert [loaded.counties[i] for i in range(7)] == [labels[c - 1][0] for c in cells]
        assert loaded.market_types[:] == [labels[c - 1][1] for c in cells]
        assert loaded.population.market_rural.tolist() == [c == 1 for c in cells]
        assert loaded.population.violation.tolist() == [i == 4 for i in range(7)]
        assert loaded.population.recent_order.tolist() == [i != 2 for i in range(7)]
        for k, name in enumerate(FLOAT_COLUMNS):
            expected = np.array([floats_of(i)[k] for i in range(7)])
            np.testing.assert_array_equal(loaded.population.columns[name], expected)
            assert loaded.population.columns[name].dtype == np.float64
        # The groups are those ranking_groups numbers from the labels.
        group, group_labels = ranking_groups(
            list(loaded.counties), list(loaded.market_types), "county_market_type"
        )
        assert loaded.population.group.tolist() == group.tolist()
        assert loaded.group_labels == group_labels
        np.testing.assert_array_equal(loaded.id_bytes, uuid_bytes([str(i) for i in ids]))


def test_ranking_groups_by_county_from_cells_match_the_labels_path() -> None:
    labels = [("C1", "rural"), ("C1", "urban"), ("C2", "urban"), ("C3", "rural")]
    cells = np.array([2, 0, 2, 1, 0, 2])  # C3 has no shop here
    for group_by in ("county", "county_market_type"):
        group, group_labels = groups_of_cells(cells, labels, group_by)
        expected, expected_labels = ranking_groups(
            [labels[c][0] for c in cells], [labels[c][1] for c in cells], group_by
        )
        assert group.tolist() == expected.tolist()
        assert group_labels == expected_labels


def test_an_empty_population_stream_is_an_empty_population() -> None:
    decoder = population_decoder()
    decoder.feed(stream([]))
    loaded = decoded_population(decoder.finish(), [], "county_market_type")
    assert len(loaded.customer_ids) == 0 and loaded.group_labels == []
    assert len(loaded.population) == 0
    assert all(len(loaded.population.columns[name]) == 0 for name in FLOAT_COLUMNS)
    assert loaded.id_bytes.shape == (0, 16)


def test_nulls_unknown_cells_and_cut_streams_are_refused() -> None:
    good = population_row(uuid.uuid4(), 1, False, True, floats_of(1))
    null_row = copy_row([uuid.uuid4().bytes, None, b"\x00", b"\x01"] + [b"\x00" * 8] * 19)
    decoder = population_decoder()
    with pytest.raises(ValueError, match="fixed width"):
        decoder.feed(stream([good, null_row + bytes(len(good) - len(null_row))]))
    with pytest.raises(ValueError, match="not a PostgreSQL binary COPY"):
        population_decoder().feed(b"x" * 40)
    cut = population_decoder()
    cut.feed(COPY_HEADER + good + good[:10])
    with pytest.raises(ValueError, match="ended early"):
        cut.finish()
    unknown = population_decoder()
    unknown.feed(stream([population_row(uuid.uuid4(), 0, False, True, floats_of(1))]))
    with pytest.raises(ValueError, match="cells"):
        decoded_population(unknown.finish(), [("C1", "urban")], "county")


def test_fixed_rows_decoder_skips_a_header_extension() -> None:
    header = COPY_HEADER[:-4] + struct.pack(">i", 3) + b"abc"
    decoder = FixedRowsDecoder([("n", ">i4")])
    decoder.feed(header + copy_row([struct.pack(">i", 5)]) + COPY_TRAILER)
    assert decoder.finish()["n"].tolist() == [5]
    assert len(COPY_FIELDS) == 4 + len(FLOAT_COLUMNS)


def test_uuid_text_is_canonical_lower_case() -> None:
    ids = [uuid.uuid4() for _ in range(100)] + [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]
    raw = np.frombuffer(b"".join(i.bytes for i in ids), dtype=np.uint8).reshape(-1, 16)
    assert [text.decode() for text in uuid_text(raw).tolist()] == [str(i) for i in ids]
    assert UuidTexts(raw)[5:8] == [str(i) for i in ids[5:8]]


def test_customer_order_and_find_ids_follow_byte_order() -> None:
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 256, (500, 16), dtype=np.uint8)
    ids[10, :8] = ids[20, :8]  # equal first halves take the slower exact path
    keys = [bytes(row) for row in ids]
    order = customer_order(ids)
    assert [keys[i] for i in order] == sorted(keys)
    wanted = np.concatenate([ids[[7, 20, 10, 499]], rng.integers(0, 256, (3, 16), np.uint8)])
    assert find_ids(ids, order, wanted).tolist() == [7, 20, 10, 499, -1, -1, -1]
    unique = rng.integers(0, 256, (300, 16), dtype=np.uint8)
    assert find_ids(unique, customer_order(unique), unique[::-1]).tolist() == list(
        range(299, -1, -1)
    )
    assert find_ids(unique[:0], customer_order(unique[:0]), unique).tolist() == [-1] * 300


def test_float8_text_prints_as_postgresql_does() -> None:
    # Shortest exact digits; positional for decimal exponents -4..14; no ".0" on whole numbers.
    cases = [
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (50.0, "50"),
        (18.0, "18"),
        (64.344951, "64.344951"),
        (-12.5, "-12.5"),
        (0.0001, "0.0001"),
        (9.9e-05, "9.9e-05"),
        (1e-07, "1e-07"),
        (123456789.123456, "123456789.123456"),
        (1e9, "1000000000"),
        (1e14, "100000000000000"),
        (1e15, "1e+15"),
        (1.5e15, "1.5e+15"),
        (2.0**53, "9.007199254740992e+15"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1 / 3, "0.3333333333333333"),
        (5e-324, "5e-324"),
        (1e300, "1e+300"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ]
    values = np.array([value for value, _ in cases])
    expected = [text for _, text in cases]
    texts, lengths = float8_text(values)
    assert [text.decode() for text in texts.tolist()] == expected
    assert lengths.tolist() == [len(text) for text in expected]
    assert [pg_float8_text(value) for value, _ in cases] == expected
    rng = np.random.default_rng(11)
    scores = np.concatenate([np.round(rng.uniform(0, 100, 5000), 6), rng.uniform(-1e6, 1e6, 500)])
    texts, lengths = float8_text(scores)
    expected = [pg_float8_text(value) for value in scores.tolist()]
    assert [text.decode() for text in texts.tolist()] == expected
    assert lengths.tolist() == [len(text) for text in expected]
    empty, none = float8_text(np.zeros(0))
    assert empty.shape == (0,) and none.shape == (0,)


def test_copy_block_writes_counts_lengths_and_segments() -> None:
    per_row = np.array([b"ab", b"cd", b"ef"], dtype="S2")
    data = copy_block([[b"x", per_row, b"yz"], [np.arange(3, dtype=">i4")], [b""]], 3)
    expected = b"".join(
        copy_row([b"x" + value + b"yz", struct.pack(">i", i), b""])
        for i, value in enumerate((b"ab", b"cd", b"ef"))
    )
    assert data == expected


def test_loaded_population_accepts_lists_and_derives_cells() -> None:
    ids = [str(uuid.uuid4()) for _ in range(4)]
    loaded = LoadedPopulation(
        population=None,  # type: ignore[arg-type]
        customer_ids=ids,
        counties=["C2", "C1", "C2", "C1"],
        market_types=["urban", "rural", "urban", "urban"],
        group_labels=[],
    )
    cells, labels = loaded.cells
    assert labels == [("C1", "rural"), ("C1", "urban"), ("C2", "urban")]
    assert cells.tolist() == [2, 0, 2, 1]
    np.testing.assert_array_equal(loaded.id_bytes, uuid_bytes(ids))
    view = CellLabels(cells, labels, 1)
    assert list(view) == ["urban", "rural", "urban", "urban"]
