"""Text that PostgreSQL can store: NUL characters are refused with a 422, not a 500."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StrictStr


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_storable)]
StrictText = Annotated[StrictStr, AfterValidator(_storable)]
