"""Pure route matching: which upstream owns a path (no framework imports)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol


class RouteLike(Protocol):
    pattern: str
    upstream: str


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


@functools.lru_cache(maxsize=1024)
def _pattern_segments(pattern: str) -> tuple[str, ...]:
    # Route patterns are few and fixed: split each once, not on every request.
    return tuple(_segments(pattern))


def match_upstream(path: str, routes: Sequence[RouteLike]) -> str | None:
    """The upstream of the first route whose pattern is a segment-wise prefix of the path."""
    segments = _segments(path)
    for route in routes:
        pattern = _pattern_segments(route.pattern)
        if len(segments) < len(pattern):
            continue
        if all(want in ("*", got) for want, got in zip(pattern, segments, strict=False)):
            return route.upstream
    return None
