"""SPEC §7: options reach a plugin typed after its declared defaults; the core's own options
(timeout, isolation, memory_limit) are read once, with errors naming plugin, key and type.
Also the JSON conversion rules of §5.7, value by value, and deadline corner cases."""

from __future__ import annotations

import enum
import json
import math
import os
import signal
import time
from datetime import date, datetime, timezone
from typing import Any

import pytest

from stoq import StoqConfigError
from stoq.deadline import call_with_deadline
from stoq.options import core_options, parse_size, typed_options
from stoq.serialize import MAX_DEPTH, dumps, jsonable


@pytest.mark.parametrize(
    ("default", "given", "typed"),
    [
        (False, "yes", True),
        (True, "off", False),
        (True, 0, False),
        (1, "42", 42),
        (1, 7.0, 7),
        (1.0, "2.5", 2.5),
        (1.0, 3, 3.0),
        ("text", 5, "5"),
        (["a"], "b, c", ["b", "c"]),
        (["a"], '["b", "c"]', ["b", "c"]),
        (["a"], ("b",), ["b"]),
        (("a",), ["b"], ("b",)),
        ({"a"}, "b,c", {"b", "c"}),
        ({"k": 1}, '{"j": 2}', {"j": 2}),
        ({"k": 1}, {"j": 2}, {"j": 2}),
    ],
)
def test_each_declared_option_takes_its_defaults_type(default: Any, given: Any, typed: Any) -> None:
    assert typed_options("p", {"o": given}, {"o": default}) == {"o": typed}


@pytest.mark.parametrize(
    ("default", "given", "expected"),
    [
        (False, "maybe", "true or false"),
        (1, True, "a whole number"),
        (1, "1.5", "a whole number"),
        (1, [1], "a whole number"),
        (1.0, "inf", "a number"),
        (1.0, None, "a number"),
        ("text", ["x"], "text"),
        (["a"], 5, "a list"),
        (["a"], '["unclosed"', "a list"),
        ({"k": 1}, "[1]", "a table"),
    ],
)
def test_an_option_that_does_not_convert_names_plugin_key_and_type(
    default: Any, given: Any, expected: str
) -> None:
    with pytest.raises(StoqConfigError, match=f"plugin 'p': option 'o' = .*: expected {expected}"):
        typed_options("p", {"o": given}, {"o": default})


def test_undeclared_options_and_none_defaults_pass_unchanged() -> None:
    options = {"free": "5", "maybe": "x", "timeout": "3"}
    assert typed_options("p", options, {"maybe": None, "timeout": 1}) == options


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (None, None),
        (0, None),
        ("", None),
        (5, 5),
        ("1k", 1024),
        ("1.5M", 1572864),
        ("2GiB", 2 * 1024**3),
    ],
)
def test_sizes(text: Any, size: Any) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", [True, -1, "-5M", "lots"])
def test_bad_sizes(text: Any) -> None:
    with pytest.raises((ValueError, KeyError)):
        parse_size(text)


def test_core_options_read_once() -> None:
    core = core_options("p", {"timeout": "2.5", "isolation": "", "memory_limit": "1M"}, 60)
    assert (core.timeout, core.isolation, core.memory_limit) == (2.5, "none", 1024**2)
    assert core_options("p", {"timeout": 0}, 60).timeout == 60


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": True}, "option 'timeout' = True: expected a positive number of seconds"),
        ({"timeout": -1}, "option 'timeout' = -1"),
        ({"timeout": "nan"}, "option 'timeout' = 'nan'"),
        ({"isolation": "thread"}, "option 'isolation' = 'thread': expected 'none' or 'process'"),
        ({"memory_limit": "huge"}, "option 'memory_limit' = 'huge': expected bytes"),
    ],
)
def test_core_options_that_cannot_be_read(options: Any, message: str) -> None:
    with pytest.raises(StoqConfigError, match=message):
        core_options("p", options, 60)


class _Colour(str, enum.Enum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


class _Described:
    def to_dict(self) -> Any:
        return {"kind": "described"}


class _Plain:
    def __init__(self) -> None:
        self.shown = 1
        self._hidden = 2


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ({True: 1, None: 2, 1.5: 3, float("nan"): 4, float("-inf"): 5, (1, 2): 6}, None),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "2026-01-02T03:04:05+00:00"),
        (date(2026, 1, 2), "2026-01-02"),
        ({3, 1, 2}, [1, 2, 3]),
        (_Described(), {"kind": "described"}),
        (_Plain(), {"shown": 1}),
        (_Colour.RED, "red"),
        (_Level.HIGH, 3),
        (bytearray(b"\xffa"), "\\xffa"),
        (object, None),
    ],
)
def test_values_json_has_no_type_for_are_converted(value: Any, written: Any) -> None:
    out = json.loads(dumps({"v": value}))["v"]
    if written is not None:
        assert out == written
    assert json.loads(json.dumps(jsonable(value), allow_nan=False)) == out


def test_keys_are_written_as_json_writes_them() -> None:
    out = json.loads(dumps({True: 1, None: 2, 1.5: 3, float("nan"): 4, float("-inf"): 5}))
    assert out == {"true": 1, "null": 2, "1.5": 3, "NaN": 4, "-Infinity": 5}


def test_unsortable_sets_and_lone_surrogates() -> None:
    assert sorted(map(str, jsonable({1, "a"}))) == ["1", "a"]
    assert jsonable("\ud800") == "\\ud800"


def test_nesting_past_the_limit_is_refused() -> None:
    value: Any = []
    for _ in range(MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(ValueError, match="nested deeper"):
        jsonable(value)
    assert math.isnan(float(json.loads(dumps("NaN"))))


def test_a_result_that_arrives_after_the_deadline_is_discarded() -> None:
    def late() -> str:
        end = time.monotonic() + 0.02  # shorter than the watchdog's poll: it never fires
        while time.monotonic() < end:
            pass
        return "late"

    assert call_with_deadline(0.001, late) == (None, True)


def test_a_stray_alarm_outside_any_call_is_ignored() -> None:
    call_with_deadline(5, lambda: None)  # installs the handler on the main thread
    if signal.getsignal(signal.SIGALRM) is signal.SIG_DFL:
        pytest.fail("the deadline handler was not installed on the main thread")
    os.kill(os.getpid(), signal.SIGALRM)
    time.sleep(0.05)  # the handler runs here, with no call in flight: nothing is raised
    assert call_with_deadline(5, lambda: "ok") == ("ok", False)
