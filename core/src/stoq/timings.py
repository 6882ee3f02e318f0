"""Where a request's time goes: each plugin call's duration, kept in the response (SPEC §14).

A payload's ``timings`` is ``{stage: {plugin: seconds}}`` for the stages that run per payload
(``dispatch``, ``scan``, ``deep_dispatch``, ``archive``); a plugin called more than once at one
stage (a deep dispatcher, pass after pass) has its calls added up. The response's ``timings``
holds the request's ``total`` and the ``decorate`` stage. Wall-clock seconds from
``time.perf_counter``, kept to the microsecond (a shorter number is also cheaper to write):
two clock reads per call are the whole cost.
"""

from __future__ import annotations

from time import perf_counter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict

    #: ``{stage: {plugin: seconds}}``
    StageTimings = Dict[str, Dict[str, float]]

__all__ = ["add", "clock", "micro"]

clock = perf_counter


def micro(seconds: float) -> float:
    """``seconds`` to the nearest microsecond (half up; ``round(seconds, 6)``, which rounds
    the exact binary value half to even, costs twice as much and differs only at ties)."""
    return (seconds * 1e6 + 0.5) // 1 / 1e6


def add(timings: StageTimings, stage: str, plugin: str, started: float) -> None:
    """Add the time since ``started`` (a ``clock()`` reading) to ``plugin`` at ``stage``."""
    seconds = clock() - started
    bucket = timings.get(stage)
    if bucket is None:
        timings[stage] = {plugin: micro(seconds)}
    else:
        bucket[plugin] = micro(bucket.get(plugin, 0.0) + seconds)
