"""Keyset pagination whose cursor values are parsed per column type (dates, uuids, numbers).

The shared `keyset_page` converts cursor values with `python_type(value)`, which cannot parse
dates or timestamps; this variant takes explicit parsers so any sort key works.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from retailcare_shared.http import PageParams, decode_cursor
from retailcare_shared.problems import InvalidInput

Parser = Callable[[str], Any]


def keyset(
    statement: Select[Any],
    columns: Sequence[InstrumentedAttribute[Any]],
    parsers: Sequence[Parser],
    params: PageParams,
    *,
    descending: bool = False,
) -> Select[Any]:
    """Order by the columns, continue strictly after the cursor, fetch one extra row."""
    if params.cursor is not None:
        raw = decode_cursor(params.cursor, len(columns))
        try:
            values = [parse(value) for parse, value in zip(parsers, raw, strict=True)]
        except (ValueError, TypeError):
            raise InvalidInput("cursor", "format", "not a cursor returned by this API") from None
        key = tuple_(*columns)
        statement = statement.where(key < tuple_(*values) if descending else key > tuple_(*values))
    ordering = [column.desc() if descending else column.asc() for column in columns]
    return statement.order_by(*ordering).limit(params.limit + 1)


def like_pattern(fragment: str) -> str:
    """A LIKE pattern matching the fragment literally (% and _ escaped with backslash)."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
