"""Search helpers for LIKE queries."""

from __future__ import annotations


def like_pattern(fragment: str) -> str:
    """A LIKE pattern matching the fragment literally (% and _ escaped with backslash)."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
