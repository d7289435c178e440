"""Which shops' classes changed, and the outbox and shop_latest rows a run writes (binary COPY)."""

import itertools
import json
import struct
import uuid

import numpy as np
import pytest

from valuation_svc.valuation.classify import CLASSES, QUADRANTS
from valuation_svc.valuation.emission import (
    EVENT_COLUMNS,
    LATEST_COLUMNS,
    LATEST_FIELDS,
    EventContext,
    Previous,
    compare,
    event_copy_chunks,
    event_ids,
    latest_copy_chunks,
    previous_of,
)
from valuation_svc.valuation.pgcopy import COPY_HEADER, COPY_TRAILER, customer_order
from valuation_svc.valuation.repository import event_id_prefix


def copy_rows(data: bytes, fields: int) -> list[list[bytes]]:
    """The rows of binary COPY data, each a list of raw field values."""
    assert data.startswith(COPY_HEADER) and data.endswith(COPY_TRAILER)
    at, rows = len(COPY_HEADER), []
    while data[at : at + 2] != COPY_TRAILER:
        (count,) = struct.unpack_from(">h", data, at)
        assert count == fields
        at += 2
        row = []
        for _ in range(count):
            (length,) = struct.unpack_from(">i", data, at)
            row.append(data[at + 4 : at + 4 + length])
            at += 4 + length
        rows.append(row)
    return rows


def raw(ids: list[uuid.UUID]) -> np.ndarray:
    return np.frombuffer(b"".join(i.bytes for i in ids), dtype=np.uint8).reshape(-1, 16)


N = 40
IDS = [uuid.UUID(int=(i * 7919 + 13) * 2**100 + i) for i in range(N)]
CLASS = np.array([i % 5 for i in range(N)], dtype=np.int64)
QUADRANT = np.array([(i // 5) % 4 for i in range(N)], dtype=np.int64)


def previous_for(indexes: list[int], value_class: list[int], quadrant: list[int]) -> Previous:
    return Previous(
        ids=raw([IDS[i] for i in indexes]),
        value_class=np.array(value_class, dtype=np.int64),
        quadrant=np.array(quadrant, dtype=np.int64),
    )


def test_changes_count_first_classifications_and_changed_classes_or_quadrants() -> None:
    ids = raw(IDS)
    order = customer_order(ids)
    previous = previous_for(
        [3, 4, 5, 6],
        [int(CLASS[3]), (int(CLASS[4]) + 1) % 5, int(CLASS[5]), int(CLASS[6])],
        [int(QUADRANT[3]), int(QUADRANT[4]), (int(QUADRANT[5]) + 1) % 4, int(QUADRANT[6])],
    )
    # A shop that left the population keeps its row and changes nothing here.
    previous.ids = np.concatenate([previous.ids, raw([uuid.uuid4()])])
    previous.value_class = np.append(previous.value_class, 0)
    previous.quadrant = np.append(previous.quadrant, 0)
    changes = compare(ids, order, CLASS, QUADRANT, previous)
    assert np.flatnonzero(changes.known).tolist() == [3, 4, 5, 6]
    assert np.flatnonzero(~changes.changed).tolist() == [3, 6]
    assert changes.previous_class[4] == (CLASS[4] + 1) % 5
    assert changes.previous_class[0] == -1


def test_latest_rows_with_labels_outside_the_model_are_refused() -> None:
    rows = np.zeros(2, dtype=[(name, kind) for name, kind in LATEST_FIELDS])
    rows["value_class"] = [1, 5]
    rows["quadrant"] = [4, 1]
    decoded = previous_of(rows)
    assert decoded.value_class.tolist() == [0, 4] and decoded.quadrant.tolist() == [3, 0]
    rows["value_class"][0] = 0
    with pytest.raises(ValueError, match="outside"):
        previous_of(rows)


def test_events_are_the_former_json_with_ids_counting_up_in_write_order() -> None:
    ids = raw(IDS)
    order = customer_order(ids)
    previous = previous_for([1, 2], [int(CLASS[1]), 3], [(int(QUADRANT[1]) + 1) % 4, 0])
    changes = compare(ids, order, CLASS, QUADRANT, previous)
    total = np.array([round(37.5 + i * 1.234567, 6) for i in range(N)])
    total[7] = 50.0
    credit = np.array([[20.0, 16.4, 6.0, 0.0][i % 4] for i in range(N)])
    run_id = uuid.uuid4()
    prefix = event_id_prefix(now_ms=1_790_000_000_000)
    context = EventContext(
        run_id=run_id,
        period="2026H1",
        source="valuation-svc",
        topic="valuation-events",
        time="2026-06-30T10:00:00.123456+00:00",
        id_prefix=prefix,
    )
    pieces = list(
        event_copy_chunks(ids, order, changes, CLASS, QUADRANT, total, credit, context, chunk=16)
    )
    assert len(pieces) == 2 + 3  # header, 40 rows in pieces of 16, trailer
    rows = copy_rows(b"".join(pieces), len(EVENT_COLUMNS))
    assert len(rows) == N
    event_ids_seen = [uuid.UUID(bytes=row[0]) for row in rows]
    assert event_ids_seen == [uuid.UUID(prefix + f"{n:012x}") for n in range(1, N + 1)]
    index = {str(customer_id): i for i, customer_id in enumerate(IDS)}
    for row, event_id in zip(rows, event_ids_seen, strict=True):
        topic, key, event_type, value = (field.decode() for field in row[1:])
        i = index[key]
        previous_class = {1: CLASSES[int(CLASS[1])], 2: "D"}.get(i)
        data = {
            "customer_id": key,
            "period": "2026H1",
            "run_id": str(run_id),
            "value_class": CLASSES[int(CLASS[i])],
            "previous_class": previous_class,
            "quadrant": QUADRANTS[int(QUADRANT[i])],
            "total_score": total[i],
            "credit_score": credit[i],
        }
        envelope = {
            "id": str(event_id),
            "type": "valuation.customer_classified",
            "source": "valuation-svc",
            "subject": key,
            "time": context.time,
            "schema_version": 1,
            "correlation_id": None,
            "data": data,
        }
        assert (topic, event_type) == ("valuation-events", "valuation.customer_classified")
        assert json.loads(value) == envelope
        # Numbers print as PostgreSQL printed them: whole numbers without ".0".
        assert (
            json.dumps(envelope, separators=(",", ":")).replace(".0,", ",").replace(".0}", "}")
            == value
        )
    # Each piece holds the next range of customers.
    pieces_keys = [
        sorted(row[2] for row in copy_rows(COPY_HEADER + piece + COPY_TRAILER, 5))
        for piece in pieces[1:-1]
    ]
    assert all(a[-1] < b[0] for a, b in itertools.pairwise(pieces_keys))


def test_no_changes_write_an_empty_copy() -> None:
    ids = raw(IDS)
    order = customer_order(ids)
    changes = compare(
        ids, order, CLASS, QUADRANT, Previous(ids.copy(), CLASS.copy(), QUADRANT.copy())
    )
    context = EventContext(uuid.uuid4(), "2026H1", "s", "t", "now", event_id_prefix())
    data = b"".join(
        event_copy_chunks(ids, order, changes, CLASS, QUADRANT, np.zeros(N), np.zeros(N), context)
    )
    assert data == COPY_HEADER + COPY_TRAILER


def test_event_ids_put_the_counter_after_the_prefix() -> None:
    prefix = event_id_prefix(now_ms=1_790_000_000_000)
    counters = np.array([1, 255, 2**48 - 1], dtype=np.uint64)
    assert [uuid.UUID(bytes=bytes(row)) for row in event_ids(prefix, counters)] == [
        uuid.UUID(prefix + f"{int(n):012x}") for n in counters
    ]


def test_latest_rows_carry_class_quadrant_run_and_period() -> None:
    ids = raw(IDS)
    rows = customer_order(ids)[::2]
    run_id = uuid.uuid4()
    data = b"".join(
        latest_copy_chunks(ids, rows, CLASS, QUADRANT, run_id=run_id, period="2026H1", chunk=7)
    )
    decoded = copy_rows(data, len(LATEST_COLUMNS))
    assert sorted(uuid.UUID(bytes=row[0]) for row in decoded) == sorted(
        IDS[i] for i in rows.tolist()
    )
    index = {customer_id.bytes: i for i, customer_id in enumerate(IDS)}
    for row in decoded:
        i = index[row[0]]
        assert row[1:] == [
            CLASSES[int(CLASS[i])].encode(),
            QUADRANTS[int(QUADRANT[i])].encode(),
            run_id.bytes,
            b"2026H1",
        ]
