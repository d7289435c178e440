"""Collector control: deferred around bursts of allocations, the heap frozen in served processes."""

import gc

import pytest

from retailcare_shared.memory import FREEZE_AT_STARTUP, freeze_if_serving, gc_paused


def test_gc_is_paused_inside_and_resumed_after_even_on_error() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_only_a_served_process_freezes_its_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FREEZE_AT_STARTUP, raising=False)
    freeze_if_serving()
    assert gc.get_freeze_count() == 0
    monkeypatch.setenv(FREEZE_AT_STARTUP, "1")
    try:
        freeze_if_serving()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
