"""Cursor values of every sort-key type survive the round trip; NUL characters are refused."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from retailcare_shared.http import InputModel, _parse_cursor_value, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 23, 9, 30, 1, 5, tzinfo=UTC),
        date(2026, 11, 23),
        uuid.uuid4(),
        42,
        Decimal("12.50"),
        "name",
    ],
)
def test_cursor_values_round_trip(value: object) -> None:
    (raw,) = decode_cursor(encode_cursor([value]), 1)
    assert _parse_cursor_value(type(value), raw) == value


class Body(InputModel):
    name: str


def test_nul_characters_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        Body(name="bad\x00name")
    assert raised.value.errors()[0]["loc"] == ("name",)
    assert "NUL" in raised.value.errors()[0]["msg"]
