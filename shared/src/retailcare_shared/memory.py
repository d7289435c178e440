"""Garbage-collector control for bursts of short-lived objects."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Defer the cyclic garbage collector during a synchronous burst of allocations.

    Decoding a poll of events or validating a 1,000-order batch allocates tens of thousands of
    objects that live until the work is done and form no cycles; the collections they trigger
    (each walking every tracked object of the process) cost about as much as the work itself.
    Only ever wraps code without an await, so no other task runs meanwhile; the collector
    resumes (and catches up) as soon as the block ends, and stays off if it was off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
