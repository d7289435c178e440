"""Pure figures of the workload and coverage reports (shares, averages, density)."""

from __future__ import annotations


def share(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 places, or None when there is nothing to divide."""
    if whole <= 0:
        return None
    return round(part / whole, 4)


def average(total: float, count: int) -> float | None:
    """total / count rounded to 1 place, or None when there is nothing to average."""
    if count <= 0:
        return None
    return round(total / count, 1)
