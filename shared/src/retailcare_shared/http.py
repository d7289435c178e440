"""HTTP conventions: ETag / If-Match, cursor pagination, strict input models."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from retailcare_shared.problems import InvalidInput, PreconditionFailed, PreconditionRequired

T = TypeVar("T")
CONTROL_CHARACTERS = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InputModel(BaseModel):
    """Base of every request body: unknown fields are rejected so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refuse it here with a 422 rather than fail later.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        # Other control characters (terminal escapes, bells...) are never data; tab and line
        # breaks are.
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise ValueError("must not contain control characters (other than tab and line breaks)")
        return value


def etag(version: int) -> str:
    """The strong ETag of a row version."""
    return f'"{version}"'


def check_if_match(if_match: str | None, current_version: int) -> None:
    """Require If-Match and compare it with the current version (428 if absent, 412 if stale)."""
    if if_match is None:
        raise PreconditionRequired("If-Match is required: send the ETag of the version you read")
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in candidates and etag(current_version) not in candidates:
        raise PreconditionFailed(
            f"the resource has changed (current ETag {etag(current_version)}); read it again"
        )


class Page(BaseModel, Generic[T]):
    """A page of a list: items and the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    """`limit` and `cursor` query parameters."""

    limit: int = 50
    cursor: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="page size")] = 50,
    cursor: Annotated[str | None, Query(max_length=1000, description="opaque cursor")] = None,
) -> PageParams:
    """Dependency reading `limit` and `cursor`."""
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(values: Sequence[Any]) -> str:
    """Opaque cursor from the sort-key values of the last item of a page."""
    raw = json.dumps([str(value) for value in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str]:
    """Sort-key values from a cursor; 422 naming `cursor` when it was not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        raise InvalidInput("cursor", "format", "not a cursor returned by this API") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput("cursor", "format", "not a cursor returned by this API")
    return [str(value) for value in values]


def keyset_page(
    statement: Select[Any],
    order_by: Sequence[InstrumentedAttribute[Any]],
    params: PageParams,
    *,
    descending: bool = False,
) -> Select[Any]:
    """Apply keyset pagination (strictly after the cursor) and fetch one extra row."""
    columns = list(order_by)
    if params.cursor is not None:
        raw = decode_cursor(params.cursor, len(columns))
        try:
            values = [
                _parse_cursor_value(column.type.python_type, value)
                for column, value in zip(columns, raw, strict=True)
            ]
        except (ValueError, TypeError, NotImplementedError):
            raise InvalidInput("cursor", "format", "not a cursor returned by this API") from None
        key = tuple_(*columns)
        statement = statement.where(key < tuple_(*values) if descending else key > tuple_(*values))
    ordering = [column.desc() if descending else column.asc() for column in columns]
    return statement.order_by(*ordering).limit(params.limit + 1)


def _parse_cursor_value(python_type: type, raw: str) -> Any:
    """A sort-key value from its cursor text (str() of the value when the cursor was made)."""
    if python_type is datetime:
        return datetime.fromisoformat(raw)
    if python_type is date:
        return date.fromisoformat(raw)
    return python_type(raw)


def make_page(
    rows: Sequence[Any], params: PageParams, sort_key: Any, *, shape: Any = None
) -> Page[Any]:
    """Cut the extra row off and build the next cursor from the last item's sort key."""
    more = len(rows) > params.limit
    rows = list(rows[: params.limit])
    next_cursor = encode_cursor(sort_key(rows[-1])) if more and rows else None
    items = [shape(row) for row in rows] if shape else rows
    return Page(items=items, next_cursor=next_cursor)
