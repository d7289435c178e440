"""PostgreSQL binary COPY data built column-wise by numpy (pure): UUIDs, float8 text, row blocks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

Bytes = npt.NDArray[Any]  # a fixed-width bytes array (dtype S<k> or V<k>), one value per row

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension
COPY_TRAILER = b"\xff\xff"
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Where the 32 hex digits of a UUID go in its 36-character canonical text.
_UUID_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])


def uuid_bytes(ids: Sequence[str]) -> npt.NDArray[np.uint8]:
    """The 16 raw bytes of canonical UUID strings, (n, 16) uint8, converted without a per-id
    Python call."""
    if not ids:
        return np.zeros((0, 16), dtype=np.uint8)
    chars = np.frombuffer("".join(ids).encode("ascii"), dtype=np.uint8).reshape(len(ids), 36)
    # '0'-'9' and 'a'-'f' (PostgreSQL prints UUIDs in lower case; upper case is accepted too).
    digits = np.delete(chars, (8, 13, 18, 23), axis=1) | 0x20
    nibbles = np.where(digits >= ord("a"), digits - (ord("a") - 10), digits - ord("0"))
    return np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2], dtype=np.uint8)


def customer_order(ids: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Row order of (n, 16) raw UUIDs in PostgreSQL's uuid order (bytewise)."""
    if not len(ids):
        return np.zeros(0, dtype=np.int64)
    halves = np.ascontiguousarray(ids).view(">u8")
    # Sorting the first 8 bytes decides all but (practically never) equal prefixes.
    prefix = halves[:, 0].astype(np.uint64)
    order = np.argsort(prefix, kind="stable")
    first = prefix[order]
    if (first[1:] == first[:-1]).any():
        order = np.lexsort((halves[:, 1], halves[:, 0]))
    return order.astype(np.int64)


def find_ids(
    ids: npt.NDArray[np.uint8], order: npt.NDArray[np.int64], wanted: npt.NDArray[np.uint8]
) -> npt.NDArray[np.int64]:
    """Row of each wanted UUID among `ids` (sorted by `order`), -1 where absent."""
    found = np.full(wanted.shape[0], -1, dtype=np.int64)
    if not len(ids) or not len(wanted):
        return found
    keys = np.ascontiguousarray(ids).view(">u8")[order]
    probes = np.ascontiguousarray(wanted).view(">u8")
    if (keys[1:, 0] == keys[:-1, 0]).any():  # equal prefixes: compare whole ids
        sorted_ids = np.ascontiguousarray(ids[order]).view("V16").reshape(-1)
        at = np.searchsorted(sorted_ids, np.ascontiguousarray(wanted).view("V16").reshape(-1))
    else:
        at = np.searchsorted(keys[:, 0], probes[:, 0])
    at = np.minimum(at, len(keys) - 1)
    hit = (keys[at, 0] == probes[:, 0]) & (keys[at, 1] == probes[:, 1])
    found[hit] = order[at[hit]]
    return found


def uuid_text(raw: npt.NDArray[np.uint8]) -> Bytes:
    """Canonical lower-case text (dtype S36) of (n, 16) raw UUID bytes, as PostgreSQL prints it."""
    n = raw.shape[0]
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    chars[:, _UUID_DIGITS] = _HEX[nibbles]
    return chars.view("S36").reshape(n)


def pg_float8_text(value: float) -> str:
    """PostgreSQL's text of one float8 (float8out: the shortest exact digits, positional for
    decimal exponents -4..14, else d.ddde±XX; no `.0` on whole numbers)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    # repr gives the same shortest round-trip digits as PostgreSQL's Ryu; only the layout differs.
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    scientific = len(digits) - 1 + exponent
    prefix = "-" if sign else ""
    if -4 <= scientific < 15:
        if exponent >= 0:
            return prefix + text + "0" * exponent
        point = len(text) + exponent
        if point > 0:
            return prefix + text[:point] + "." + text[point:]
        return prefix + "0." + "0" * -point + text
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{prefix}{mantissa}e{'+' if scientific >= 0 else '-'}{abs(scientific):02d}"


_INT_DIGITS = 9  # the vectorised path covers |value| < 1e9
_DECIMALS = 6


def float8_text(values: npt.NDArray[np.float64]) -> tuple[Bytes, npt.NDArray[np.int64]]:
    """pg_float8_text of many values: (S<k> array, lengths). Values with at most six decimals
    and 1e-4 <= |v| < 1e9 (or +0) — every stored score — are printed by integer arithmetic; any
    other value goes through pg_float8_text."""
    n = values.shape[0]
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.rint(magnitude * 10.0**_DECIMALS)
        # The double nearest to k/10^6 prints as that decimal (at most 15 significant digits).
        simple = (
            np.isfinite(values)
            & (magnitude < 10.0**_INT_DIGITS)
            & ((magnitude >= 1e-4) | ((values == 0) & ~np.signbit(values)))
            & (scaled / 10.0**_DECIMALS == magnitude)
        )
    units = np.where(simple, scaled, 0).astype(np.int64)
    whole, fraction = np.divmod(units, 10**_DECIMALS)
    int_digits = np.ones(n, dtype=np.int64)
    for size in range(1, _INT_DIGITS):
        int_digits += whole >= 10**size
    places = int(int_digits.max()) if n else 1
    width = 1 + places + 1 + _DECIMALS  # sign, integer digits, point, decimals
    chars = np.empty((n, width), dtype=np.uint8)
    chars[:, 0] = 0
    for place in range(places):
        chars[:, 1 + place] = ord("0") + (whole // 10 ** (places - 1 - place)) % 10
    chars[:, 1 + places] = ord(".")
    decimals = np.full(n, _DECIMALS, dtype=np.int64)
    for place in range(_DECIMALS):
        power = 10 ** (_DECIMALS - 1 - place)
        chars[:, 2 + places + place] = ord("0") + (fraction // power) % 10
        decimals -= (fraction % (10 * power)) == 0  # trailing zeros of the fraction
    negative = np.signbit(values) & simple
    first = 1 + places - int_digits  # column of the first integer digit (column 0: the sign)
    signed = np.flatnonzero(negative)
    chars[signed, first[signed] - 1] = ord("-")
    start = first - negative
    lengths = negative + int_digits + np.where(decimals > 0, decimals + 1, 0)
    columns = np.arange(width)
    picked = np.take_along_axis(chars, np.minimum(start[:, None] + columns, width - 1), axis=1)
    picked[columns[None, :] >= lengths[:, None]] = 0
    texts = np.ascontiguousarray(picked).view(f"S{width}").reshape(n)
    other = np.flatnonzero(~simple)
    if other.size:
        slow = [pg_float8_text(value).encode() for value in values[other].tolist()]
        longest = max(width, *(len(text) for text in slow))
        texts = texts.astype(f"S{longest}")
        texts[other] = slow
        lengths[other] = [len(text) for text in slow]
    return texts, lengths


Segment = bytes | Bytes  # a constant, or one fixed-width value per row


def block_dtype(columns: Sequence[Sequence[Segment]]) -> np.dtype[Any]:
    """Layout of binary COPY rows whose every column is the concatenation of fixed-width
    segments (a field count, then per column its length and its segments)."""
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for c, segments in enumerate(columns):
        fields.append((f"length{c}", ">i4"))
        for s, segment in enumerate(segments):
            width = len(segment) if isinstance(segment, bytes) else segment.dtype.itemsize
            if width:
                fields.append((f"c{c}s{s}", f"V{width}"))
    return np.dtype(fields)


def copy_block(columns: Sequence[Sequence[Segment]], rows: int) -> bytes:
    """`rows` binary COPY rows (no header) of one fixed layout: constant segments are written
    once per block, per-row segments as whole arrays."""
    dtype = block_dtype(columns)
    block = np.zeros(rows, dtype=dtype)
    block["count"] = len(columns)
    for c, segments in enumerate(columns):
        length = 0
        for s, segment in enumerate(segments):
            name = f"c{c}s{s}"
            if name not in dtype.names:  # type: ignore[operator]
                continue
            width = dtype[name].itemsize
            length += width
            if isinstance(segment, bytes):
                block[name] = np.frombuffer(segment, dtype=f"V{width}")[0]
            else:
                assert segment.shape == (rows,), "one value per row"
                block[name] = np.ascontiguousarray(segment).view(f"V{width}")
        block[f"length{c}"] = length
    return block.tobytes()


_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


class FixedRowsDecoder:
    """Decodes a binary COPY stream whose every field is fixed-width and never NULL, fed in
    arbitrary pieces: whole rows go through np.frombuffer, a partial row waits for the next
    piece."""

    def __init__(self, fields: Sequence[tuple[str, str]]) -> None:
        self.fields = list(fields)
        self.row = np.dtype(
            [("count", ">i2")]
            + [item for name, kind in fields for item in ((f"{name}_length", ">i4"), (name, kind))]
        )
        self.values = np.dtype([(name, self.row.fields[name][0]) for name, _ in fields])  # type: ignore[index]
        self._pending = b""
        self._header = False
        self._parts: list[npt.NDArray[Any]] = []

    def feed(self, data: bytes) -> None:
        """Decode every complete row of the pending data plus `data`."""
        buffer = self._pending + data if self._pending else data
        at = 0
        if not self._header:
            if len(buffer) < len(_SIGNATURE) + 8:
                self._pending = buffer
                return
            if not buffer.startswith(_SIGNATURE):
                raise ValueError("not a PostgreSQL binary COPY stream")
            extension = int.from_bytes(buffer[len(_SIGNATURE) + 4 : len(_SIGNATURE) + 8], "big")
            at = len(_SIGNATURE) + 8 + extension
            if len(buffer) < at:
                self._pending = buffer
                return
            self._header = True
        rows = (len(buffer) - at) // self.row.itemsize
        if rows:
            block = np.frombuffer(buffer, dtype=self.row, count=rows, offset=at)
            # A NULL (length -1) or another query would shift every later field: refuse it.
            if (block["count"] != len(self.fields)).any():
                raise ValueError("unexpected field count in a binary COPY row")
            for name, _ in self.fields:
                if (block[f"{name}_length"] != block.dtype[name].itemsize).any():
                    raise ValueError(f"binary COPY field {name} is not of its fixed width")
            # A copy of the values only, so the network piece can be freed at once.
            self._parts.append(block[[name for name, _ in self.fields]].astype(self.values))
        self._pending = buffer[at + rows * self.row.itemsize :]

    def finish(self) -> npt.NDArray[Any]:
        """Every row (a structured array of the fields) once the stream has ended."""
        if self._pending != COPY_TRAILER or not self._header:
            raise ValueError("binary COPY stream ended early")
        rows = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=self.values)
        self._parts = []
        return rows
