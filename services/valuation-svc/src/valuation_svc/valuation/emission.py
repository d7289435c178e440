"""Which shops' classification a run changes, and the outbox events and latest-class rows that
record it, as binary COPY data built column-wise by numpy (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from valuation_svc.valuation.classify import CLASSES, QUADRANTS
from valuation_svc.valuation.pgcopy import (
    COPY_HEADER,
    COPY_TRAILER,
    FixedRowsDecoder,
    Segment,
    copy_block,
    find_ids,
    float8_text,
    uuid_text,
)

Ints = npt.NDArray[np.int64]
RawIds = npt.NDArray[np.uint8]  # (n, 16) UUID bytes
EVENT_TYPE = "valuation.customer_classified"
EVENT_COLUMNS = ("event_id", "topic", "key", "event_type", "value")
LATEST_COLUMNS = ("customer_id", "value_class", "quadrant", "run_id", "period")
# shop_latest as COPY rows: class and quadrant as 1-based codes (0 = a label this code lacks).
LATEST_FIELDS = [("customer_id", "V16"), ("value_class", ">i4"), ("quadrant", ">i4")]


def _codes_sql(column: str, labels: tuple[str, ...]) -> str:
    # The labels are code, never input: safe to inline.
    array = "ARRAY[" + ",".join(f"'{label}'" for label in labels) + "]::text[]"
    return f"COALESCE(array_position({array}, {column}::text), 0)::int4"


def latest_sql() -> str:
    """Every shop's latest classification as fixed-width rows (for COPY … TO STDOUT binary)."""
    return (
        f"SELECT customer_id, {_codes_sql('value_class', CLASSES)},"
        f" {_codes_sql('quadrant', QUADRANTS)} FROM shop_latest"
    )


def latest_decoder() -> FixedRowsDecoder:
    """A decoder of latest_sql's COPY stream."""
    return FixedRowsDecoder(LATEST_FIELDS)


@dataclass
class Previous:
    """Shops' classification before a run (0-based codes into CLASSES and QUADRANTS)."""

    ids: RawIds
    value_class: Ints
    quadrant: Ints


def previous_of(rows: npt.NDArray[Any]) -> Previous:
    """Previous classes from decoded latest_sql rows."""
    value_class = rows["value_class"].astype(np.int64) - 1
    quadrant = rows["quadrant"].astype(np.int64) - 1
    if (value_class < 0).any() or (quadrant < 0).any():
        # Only runs write shop_latest, always with these labels: anything else is damage.
        raise ValueError("shop_latest holds a class or quadrant outside the model's labels")
    ids = np.ascontiguousarray(rows["customer_id"]).view(np.uint8).reshape(-1, 16)
    return Previous(ids=ids, value_class=value_class, quadrant=quadrant)


@dataclass
class Changes:
    """Per shop of the run: its previous class (-1 = first classification) and whether its
    class or quadrant changed (an event is due)."""

    previous_class: Ints
    known: npt.NDArray[np.bool_]
    changed: npt.NDArray[np.bool_]


def compare(
    ids: RawIds, order: Ints, value_class: Ints, quadrant: Ints, previous: Previous
) -> Changes:
    """Match the previous classes to the run's shops (`order`: the rows by customer id)."""
    n = ids.shape[0]
    rows = find_ids(ids, order, previous.ids)
    present = rows >= 0
    previous_class = np.full(n, -1, dtype=np.int64)
    previous_quadrant = np.full(n, -1, dtype=np.int64)
    previous_class[rows[present]] = previous.value_class[present]
    previous_quadrant[rows[present]] = previous.quadrant[present]
    known = previous_class >= 0
    changed = ~known | (previous_class != value_class) | (previous_quadrant != quadrant)
    return Changes(previous_class=previous_class, known=known, changed=changed)


@dataclass(frozen=True)
class EventContext:
    """What every event of a run shares."""

    run_id: uuid.UUID
    period: str
    source: str
    topic: str
    time: str  # ISO 8601
    id_prefix: str  # 20 hex digits (repository.event_id_prefix)


def event_ids(prefix: str, counters: npt.NDArray[np.uint64]) -> RawIds:
    """(n, 16) raw event ids: the run's 10-byte prefix, then a 48-bit big-endian counter."""
    raw = np.empty((counters.shape[0], 16), dtype=np.uint8)
    raw[:, :10] = np.frombuffer(bytes.fromhex(prefix), dtype=np.uint8)
    for place in range(6):
        raw[:, 10 + place] = (counters >> np.uint64(8 * (5 - place))) & np.uint64(0xFF)
    return raw


def _distinct_texts(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[Any], Ints]:
    """float8_text of each distinct value once, for columns of few values (credit points take
    a handful); distinct by bit pattern, so 0 and -0 keep their own text."""
    bits, inverse = np.unique(values.view(np.int64), return_inverse=True)
    texts, lengths = float8_text(bits.view(np.float64))
    return texts[inverse], lengths[inverse]


def _text_width(lengths: Ints) -> int:
    return int(lengths.max()) + 1 if lengths.size else 1


def event_copy_chunks(
    ids: RawIds,
    order: Ints,
    changes: Changes,
    value_class: Ints,
    quadrant: Ints,
    total: npt.NDArray[np.float64],
    credit: npt.NDArray[np.float64],
    context: EventContext,
    *,
    chunk: int = 100_000,
) -> Iterator[bytes]:
    """The outbox rows (EVENT_COLUMNS) of the changed shops as binary COPY data, in customer
    order by pieces of `chunk` rows. Each value is the event's JSON text exactly as the former
    SQL assembled it (`total`, `credit`: the stored floats, printed as PostgreSQL prints them).
    Within a piece, rows whose text parts have the same lengths share one fixed layout, and
    event ids count up in the order rows are written."""
    rows = order[changes.changed[order]]
    totals, total_lengths = float8_text(total[rows])
    credits, credit_lengths = _distinct_texts(credit[rows])
    previous = changes.previous_class[rows] + 1  # 0 = none
    key = (
        ((value_class[rows] * (len(CLASSES) + 1) + previous) * len(QUADRANTS) + quadrant[rows])
        * _text_width(total_lengths)
        + total_lengths
    ) * _text_width(credit_lengths) + credit_lengths
    source, period, run = context.source.encode(), context.period.encode(), str(context.run_id)
    head = (
        b'","type":"' + EVENT_TYPE.encode() + b'","source":"' + source + b'","subject":"',
        b'","time":"' + context.time.encode() + b'","schema_version":1,"correlation_id":null,'
        b'"data":{"customer_id":"',
    )
    written = 0
    yield COPY_HEADER
    for start in range(0, len(rows), chunk):
        positions = np.arange(start, min(start + chunk, len(rows)))
        positions = positions[np.argsort(key[positions], kind="stable")]
        counters = np.arange(written + 1, written + 1 + len(positions), dtype=np.uint64)
        written += len(positions)
        raw_ids = event_ids(context.id_prefix, counters)
        id_texts = uuid_text(raw_ids)
        customer_texts = uuid_text(ids[rows[positions]])
        bounds = np.flatnonzero(np.diff(key[positions])) + 1
        pieces: list[bytes] = []
        for part in np.split(np.arange(len(positions)), bounds):
            at = positions[part]
            first = int(at[0])
            class_text = CLASSES[int(value_class[rows[first]])]
            previous_code = int(previous[first])
            previous_text = "null" if not previous_code else f'"{CLASSES[previous_code - 1]}"'
            tail = (
                f'","period":"{period.decode()}","run_id":"{run}","value_class":"{class_text}",'
                f'"previous_class":{previous_text},"quadrant":'
                f'"{QUADRANTS[int(quadrant[rows[first]])]}","total_score":'
            ).encode()
            value: list[Segment] = [
                b'{"id":"',
                id_texts[part],
                head[0],
                customer_texts[part],
                head[1],
                customer_texts[part],
                tail,
                totals[at].astype(f"S{int(total_lengths[first])}"),
                b',"credit_score":',
                credits[at].astype(f"S{int(credit_lengths[first])}"),
                b"}}",
            ]
            columns: list[list[Segment]] = [
                [raw_ids[part].view("V16").reshape(-1)],
                [context.topic.encode()],
                [customer_texts[part]],
                [EVENT_TYPE.encode()],
                value,
            ]
            pieces.append(copy_block(columns, len(part)))
        yield b"".join(pieces)
    yield COPY_TRAILER


def latest_copy_chunks(
    ids: RawIds,
    rows: Ints,
    value_class: Ints,
    quadrant: Ints,
    *,
    run_id: uuid.UUID,
    period: str,
    chunk: int = 100_000,
) -> Iterator[bytes]:
    """shop_latest rows (LATEST_COLUMNS) of the given rows (in that order) as binary COPY data;
    within each piece of `chunk` rows, one fixed layout per class and quadrant."""
    key = value_class[rows] * len(QUADRANTS) + quadrant[rows]
    yield COPY_HEADER
    for start in range(0, len(rows), chunk):
        positions = np.arange(start, min(start + chunk, len(rows)))
        positions = positions[np.argsort(key[positions], kind="stable")]
        bounds = np.flatnonzero(np.diff(key[positions])) + 1
        pieces: list[bytes] = []
        for part in np.split(positions, bounds):
            class_code, quadrant_code = divmod(int(key[part[0]]), len(QUADRANTS))
            columns: list[list[Segment]] = [
                [ids[rows[part]].view("V16").reshape(-1)],
                [CLASSES[class_code].encode()],
                [QUADRANTS[quadrant_code].encode()],
                [run_id.bytes],
                [period.encode()],
            ]
            pieces.append(copy_block(columns, len(part)))
        yield b"".join(pieces)
    yield COPY_TRAILER
