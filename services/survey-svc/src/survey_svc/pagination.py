"""Keyset pagination over columns of any type (the shared helper cannot parse timestamps)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from retailcare_shared.http import PageParams, decode_cursor
from retailcare_shared.problems import InvalidInput


def _parse(kind: type[Any], raw: str) -> Any:
    if kind is datetime:
        return datetime.fromisoformat(raw)
    if kind is date:
        return date.fromisoformat(raw)
    if kind is uuid.UUID:
        return uuid.UUID(raw)
    return kind(raw)


def keyset(
    statement: Select[Any],
    order_by: Sequence[InstrumentedAttribute[Any]],
    params: PageParams,
    *,
    descending: bool = False,
) -> Select[Any]:
    """Rows strictly after the cursor, in key order, plus one to tell whether more follow."""
    columns = list(order_by)
    if params.cursor is not None:
        raw = decode_cursor(params.cursor, len(columns))
        try:
            values = [
                _parse(column.type.python_type, value)
                for column, value in zip(columns, raw, strict=True)
            ]
        except (ValueError, TypeError, NotImplementedError):
            raise InvalidInput("cursor", "format", "not a cursor returned by this API") from None
        key = tuple_(*columns)
        statement = statement.where(key < tuple_(*values) if descending else key > tuple_(*values))
    ordering = [column.desc() if descending else column.asc() for column in columns]
    return statement.order_by(*ordering).limit(params.limit + 1)
