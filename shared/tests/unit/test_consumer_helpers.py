"""The consumer runner's pure helpers: deferring the garbage collector around decoding."""

import gc

import pytest

from retailcare_shared.consumer import _gc_paused


def test_gc_is_paused_inside_and_resumed_after_even_on_error() -> None:
    assert gc.isenabled()
    with _gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with _gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
