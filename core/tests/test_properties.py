"""Property tests (Hypothesis) for the engine's small, central rules: the ordered union of
worker lists, the request limits, typed options, and JSON output of arbitrary results."""

from __future__ import annotations

import json
import math
import time
import types
import unittest.mock
from datetime import datetime, timedelta, timezone
from typing import Any, List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stoq.invoke import checked_results
from stoq.options import typed_options
from stoq.serialize import dumps, iso_now, iso_utc, jsonable
from stoq.testing import make_stoq
from stoq.workflow import _union

names = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "hash", "yara"]), max_size=8)

#: Anything a plugin might put in its results: JSON types, bytes, NaN/inf, sets, nested.
keys = st.one_of(
    st.text(max_size=8),
    st.binary(max_size=8),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(),
    st.frozensets(st.integers(), max_size=4),
)
results = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=20,
)


@given(st.lists(names, max_size=4))
def test_the_ordered_union_keeps_first_occurrences_in_order(groups: List[List[str]]) -> None:
    merged = _union(*groups)
    flat = [name for group in groups for name in group]
    assert merged == list(dict.fromkeys(flat))
    assert len(merged) == len(set(merged))


@given(results)
def test_any_result_is_written_as_strict_utf8_json(value: Any) -> None:
    text = dumps({"result": value})
    text.encode("utf-8")  # strict: no lone surrogates

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    parsed = json.loads(text, parse_constant=refuse)
    assert parsed == json.loads(json.dumps(jsonable({"result": value}), allow_nan=False))


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_survive_or_become_their_standard_names(number: float) -> None:
    [out] = json.loads(dumps([number]))
    if math.isfinite(number):
        assert out == number
    else:
        assert out in ("NaN", "Infinity", "-Infinity")


@given(st.integers(min_value=-(10**6), max_value=10**6), st.booleans())
def test_options_are_typed_as_their_defaults(number: int, flag: bool) -> None:
    typed = typed_options(
        "p",
        {"count": str(number), "ratio": str(number), "on": str(flag).lower(), "names": "x, y"},
        {"count": 1, "ratio": 1.0, "on": False, "names": ["z"]},
    )
    assert typed == {"count": number, "ratio": float(number), "on": flag, "names": ["x", "y"]}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(min_value=0, max_value=30),
    max_payloads=st.integers(min_value=1, max_value=40),
)
def test_max_payloads_bounds_every_request(count: int, max_payloads: int) -> None:
    """Whatever a worker extracts, a request holds at most max_payloads payloads, and every
    child left out is accounted for as a limit error."""
    with make_stoq(
        always_dispatch=["extract_worker"],
        max_payloads=max_payloads,
        max_recursion=1,
        plugin_opts={"extract_worker": {"count": count}},
    ) as stoq:
        response = stoq.scan(b"root")
    scanned = len(response.results)
    assert scanned <= max_payloads
    limited = [e for e in response.errors if e.stage == "limit" and "max_payloads" in e.error]
    children_at_depth_one = min(count, max_payloads - 1)
    assert scanned >= 1 + children_at_depth_one
    assert len(limited) == count - children_at_depth_one


flat_results = st.dictionaries(st.one_of(st.text(max_size=8), st.binary(max_size=4)), leaves)


@given(st.one_of(flat_results, results))
def test_checked_results_accepts_exactly_what_can_be_written(value: Any) -> None:
    """Its shortcut for flat dicts agrees with the full conversion: both accept, or both raise."""
    try:
        expected = jsonable(value)
    except ValueError:
        expected = None
    try:
        checked = checked_results(value)
    except ValueError:
        assert expected is None
        return
    assert checked is value
    assert json.loads(dumps(checked)) == json.loads(json.dumps(expected, allow_nan=False))


@given(st.floats(min_value=0, max_value=4102444800, allow_nan=False))
def test_iso_utc_is_what_datetime_writes(timestamp: float) -> None:
    """Response and log times, written without importing datetime, are datetime's to the
    microsecond (its rounding, its dropping of a zero fraction)."""
    assert iso_utc(timestamp) == datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


@given(st.integers(min_value=0, max_value=4102444800), st.integers(0, 999_999))
def test_iso_utc_keeps_every_microsecond(seconds: int, micros: int) -> None:
    timestamp = seconds + micros / 1e6
    assert iso_utc(timestamp) == datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_iso_now_is_what_datetime_writes_for_the_clock_reading(nanoseconds: int) -> None:
    """A response's time: the integer clock's reading to the microsecond (truncated, as
    ``datetime.now()`` takes it), in iso_utc's format, which is datetime's."""
    clock = types.SimpleNamespace(
        time_ns=lambda: nanoseconds, strftime=time.strftime, gmtime=time.gmtime
    )
    with unittest.mock.patch("stoq.serialize.time", clock):
        written = iso_now()
    seconds, micros = divmod(nanoseconds // 1000, 1_000_000)
    expected = datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=micros)
    assert written == expected.isoformat()


def test_iso_now_is_now() -> None:
    before = datetime.now(timezone.utc)
    written = datetime.fromisoformat(iso_now())
    assert before - timedelta(seconds=1) <= written <= datetime.now(timezone.utc)


def test_iso_utc_reuses_a_second_only_for_that_second() -> None:
    """The text of the last whole second is reused: the same second with other microseconds,
    then another second, then the first again, each as datetime writes it."""
    for timestamp in (1764700000.25, 1764700000.75, 1764700001.0, 1764700000.5, 0.000001):
        assert iso_utc(timestamp) == datetime.fromtimestamp(timestamp, timezone.utc).isoformat()
