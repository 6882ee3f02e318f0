"""The deadline mechanism's own corner cases (the end-to-end timeouts are in test_boundary):
what it does with exceptions Python could not raise (finalizers), and its one-shot profile
function, which coverage cannot see run (tracers are off inside profile functions)."""

from __future__ import annotations

import sys
import time
from typing import Any, List

import pytest

from stoq import deadline
from stoq.deadline import DeadlinePassed, call_with_deadline


class _FailsToDie:
    def __del__(self) -> None:
        raise ValueError("a finalizer's own bug")


def _sleep() -> None:
    time.sleep(1)


def test_other_unraisable_exceptions_still_reach_the_hook_that_was_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once a timeout has fired, the engine's hook sits in front of the application's: a
    plugin's own finalizer bug still reaches the application's hook; a stale timeout (no call
    in flight) reaches nobody and raises nothing."""
    seen: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    assert call_with_deadline(0.05, _sleep) == (None, True)
    assert sys.unraisablehook is not seen.append  # the engine's hook, installed at the fire
    _FailsToDie()
    [unraisable] = seen
    assert (
        unraisable.exc_type is ValueError and str(unraisable.exc_value) == "a finalizer's own bug"
    )
    sys.unraisablehook(type("Stale", (), {"exc_type": DeadlinePassed})())
    assert len(seen) == 1 and sys.getprofile() is None


def test_the_profile_function_raises_once_and_only_in_a_call_in_flight() -> None:
    """Installed during a call, it raises the timeout at the thread's next event (here the
    return from ``sys.setprofile`` itself) and removes itself. Called when no call is in
    flight (the call ended first), it raises nothing."""
    after: List[str] = []

    def in_call() -> None:
        sys.setprofile(deadline._raise_after_hook)
        after.append("ran on")

    assert call_with_deadline(5, in_call) == (None, True)
    assert after == [] and sys.getprofile() is None
    assert call_with_deadline(5, deadline._raise_after_hook, sys._getframe(), "call", None) == (
        None,
        True,
    )
    assert deadline._raise_after_hook(sys._getframe(), "call", None) is None
