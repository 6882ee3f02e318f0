"""The engine's cheaper ways of doing per-request work, each compared with the way it replaced:
ids from a pool of random bytes, JSON through the C encoder made directly, timings rounded
half up, deadline entries registered without the lock."""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest

from stoq import data_classes
from stoq.data_classes import new_id
from stoq.deadline import DeadlinePassed, call_with_deadline
from stoq.invoke import _probe
from stoq.serialize import _default, dumps, jsonable
from stoq.timings import micro


def test_ids_are_random_version_4_uuids_written_as_uuid_writes_them() -> None:
    ids = [new_id() for _ in range(3000)]  # several pools' worth
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every other bit is random: each of the 122 free bits is set in some id and clear in another.
    values = [uuid.UUID(text).int for text in ids]
    fixed = (0xF << 76) | (0x3 << 62)
    for bit in range(128):
        if not (fixed >> bit) & 1:
            assert 0 < sum((v >> bit) & 1 for v in values) < len(values), bit


def test_each_id_is_sixteen_of_the_random_bytes_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every id is the next 16 random bytes with the version and variant bits set, written as
    uuid writes them: the strided copies put each digit in its place."""
    raw = os.urandom(4096)
    monkeypatch.setattr(data_classes.os, "urandom", lambda size: raw)
    monkeypatch.setattr(data_classes, "_ids", [])
    made = [data_classes.new_id() for _ in range(256)][::-1]  # handed out from the end
    expected = []
    for offset in range(0, 4096, 16):
        value = int.from_bytes(raw[offset : offset + 16], "big")
        value = (value & ~(0xF << 76)) | (0x4 << 76)  # version 4
        value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
        expected.append(str(uuid.UUID(int=value)))
    assert made == expected


def test_threads_never_share_an_id() -> None:
    found: List[List[str]] = [[] for _ in range(6)]

    def take(into: List[str]) -> None:
        into.extend(new_id() for _ in range(2000))

    threads = [threading.Thread(target=take, args=(f,)) for f in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in found for i in ids]
    assert len(set(every)) == len(every) == 12000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_hand_out_its_parents_ids() -> None:
    data_classes._more_ids()  # the pool holds ids now (a new_id() here could take its last one)
    assert data_classes._ids
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, " ".join(new_id() for _ in range(20)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {new_id() for _ in range(20)}
    assert len(child) == 20 and not child & parent


def _dumps_before(obj: Any) -> str:
    """stoq.serialize.dumps as it was: json.dumps with these settings, else ``jsonable``."""
    try:
        text = json.dumps(
            obj, default=_default, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        text.encode("utf-8")
        return text
    except (TypeError, ValueError, UnicodeEncodeError):
        pass
    return json.dumps(jsonable(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _json_files() -> Iterator[Path]:
    """JSON files this machine ships (documentation, package metadata), up to 200."""
    count = 0
    for root in ("/usr/share", "/usr/lib/python3", "/etc"):
        for path in sorted(Path(root).rglob("*.json")) if os.path.isdir(root) else []:
            if count == 200:
                return
            if path.is_file() and path.stat().st_size < 2_000_000:
                count += 1
                yield path


def _json_values() -> List[Any]:
    """The values of those files that parse as JSON."""
    values: List[Any] = []
    for path in _json_files():
        try:
            values.append(json.loads(path.read_bytes()))
        except ValueError:
            continue
    return values


def _edge_cases() -> List[Any]:
    circular: List[Any] = []
    circular.append(circular)
    deep: Any = "bottom"
    for _ in range(300):
        deep = [deep]
    rng = random.Random(15)
    return [
        {},
        [],
        "",
        "plain",
        'ünïcödé and \u2028 line separators \x00\x1f "quotes" \\',
        "lone \udcff surrogate",
        "\ud800 unpaired high",
        {"k": math.nan},
        {"k": -math.inf, math.inf: 1},
        {b"bytes key \xff": b"bytes value \x00\xff"},
        {1: "int key", 2.5: "float key", None: "none", False: "bool"},
        {"set": {3, 1, 2}, "frozen": frozenset("ab"), "tuple": (1, 2)},
        [10**40, -(10**40), 0.1, 1e-7, 5e-324, 1.7976931348623157e308, -0.0],
        circular,
        deep,
        {"object": object()},
        {"payload_meta": data_classes.PayloadMeta(extra_data={"a": b"\xff"})},
        [rng.random() * 10 ** rng.randint(-12, 12) for _ in range(200)],
        "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(500)),
    ]


def _outcome(write: Any, obj: Any) -> Tuple[str, str]:
    try:
        return "text", write(obj)
    except Exception as exc:  # noqa: BLE001 - the kind of failure is compared
        return "error", type(exc).__name__


def test_json_is_written_exactly_as_json_dumps_wrote_it_on_files_and_hostile_values() -> None:
    corpus = _json_values()
    assert len(corpus) >= 5 or not os.path.isdir("/usr/share")
    corpus += _edge_cases()
    for value in corpus:
        assert _outcome(dumps, value) == _outcome(_dumps_before, value), repr(value)[:200]
    assert _outcome(dumps, _edge_cases()[13]) == ("error", "ValueError")  # circular: refused


def test_json_of_a_real_response_is_unchanged(build) -> None:
    stoq = build(always_dispatch=["extract_worker", "raise_worker"])
    response = stoq.scan("root\nchild\n\u00e9")
    assert str(response) == _dumps_before(response.to_dict())


def test_timings_are_rounded_to_the_microsecond_as_round_did_but_at_ties() -> None:
    rng = random.Random(15)
    values = [rng.random() * 10 ** rng.randint(-7, 3) for _ in range(20000)]
    values += [k / 1e6 + 5e-7 for k in range(1000)]  # ties, or as near as a float gets
    for value in values:
        rounded = micro(value)
        assert abs(rounded - value) <= 5e-7 + 1e-12, value
        assert round(rounded, 6) == rounded  # six decimals at most, as the JSON shows
        if abs(value * 1e6 % 1 - 0.5) > 1e-6:  # not at a tie: the same as round(value, 6)
            assert rounded == round(value, 6), value


def test_deadline_entries_registered_without_the_lock_never_fire_at_a_finished_call() -> None:
    """Threads make many short calls while others time out, some just as they end: a fire
    reaches only a call still running, and never code after a call."""
    stray: List[BaseException] = []
    results: List[Tuple[Any, bool]] = []

    def short_calls() -> None:
        try:
            for i in range(3000):
                results.append(call_with_deadline(5.0, int, i))
            for _ in range(10000):
                pass  # a stray timeout would land here
        except BaseException as exc:  # noqa: BLE001 - what the test looks for
            stray.append(exc)

    def ends_near_its_deadline(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass

    def near_deadline_calls() -> None:
        try:
            for _ in range(8):
                call_with_deadline(0.05, ends_near_its_deadline, 0.03 + random.random() * 0.06)
                for _ in range(100000):
                    pass
        except BaseException as exc:  # noqa: BLE001 - what the test looks for
            stray.append(exc)

    threads = [threading.Thread(target=short_calls) for _ in range(3)]
    threads += [threading.Thread(target=near_deadline_calls) for _ in range(2)]
    for thread in threads:
        thread.start()
    near_deadline_calls()  # the main thread too (SIGALRM)
    for thread in threads:
        thread.join()
    assert stray == []
    assert sorted(r for r, _ in results) == sorted(list(range(3000)) * 3)
    assert not any(timed_out for _, timed_out in results)
    assert not any(isinstance(e, DeadlinePassed) for e in stray)


def _checked_before(value: Any) -> Any:
    """stoq.invoke.checked_results as it was: flat dicts in place, the rest through json.dumps."""
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str or (
                type(v) not in (str, int, bool, type(None))
                and not (type(v) is float and v - v == 0)
            ):
                break
        else:
            return value
    try:
        json.dumps(value, default=_probe, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        jsonable(value)
    return value


class _Text(str):
    pass


class _Unwritable:
    """A value no conversion can write: its ``to_dict`` raises."""

    def to_dict(self) -> Any:
        raise RuntimeError("no JSON for this")


def _result_shapes() -> List[Any]:
    """Results as plugins return them, and each with one bad value put at every depth."""
    rng = random.Random(15)
    bad = [math.nan, math.inf, -math.inf, b"\xff", (1, 2), {3}, object(), _Text("k"), _Unwritable()]

    def make(depth: int) -> Any:
        kind = rng.random()
        if depth == 0 or kind < 0.4:
            return rng.choice(["s", "\udcff", 0, 10**30, True, None, 0.5, -0.0, 1e308])
        if kind < 0.7:
            return [make(depth - 1) for _ in range(rng.randint(0, 4))]
        return {f"k{i}": make(depth - 1) for i in range(rng.randint(0, 4))}

    def spoil(value: Any) -> Any:
        if isinstance(value, dict) and value and rng.random() < 0.5:
            key = rng.choice(list(value))
            value[key] = spoil(value[key])
        elif isinstance(value, list) and value and rng.random() < 0.5:
            i = rng.randrange(len(value))
            value[i] = spoil(value[i])
        elif isinstance(value, dict) and rng.random() < 0.3:
            value[rng.choice([b"key", 1, None, _Text("key")])] = 1
        else:
            return rng.choice(bad)
        return value

    shapes = [make(rng.randint(0, 7)) for _ in range(3000)]
    shapes += [spoil(make(rng.randint(1, 7))) for _ in range(3000)]
    for depth in range(6):  # a container holding itself, at each depth
        inner: Any = []
        outer: Any = {"a": inner}
        for _ in range(depth):
            inner.append({"b": []})
            inner = inner[-1]["b"]
        inner.append(outer)
        shapes.append(outer)
    deep: Any = 1
    for _ in range(300):
        deep = {"d": [deep]}
    return shapes + [deep]


def test_results_are_accepted_and_refused_as_the_json_dumps_check_did(build) -> None:
    from stoq.invoke import checked_results

    corpus = _json_values()
    stoq = build(always_dispatch=["extract_worker", "raise_worker"])
    response = stoq.scan("root\nchild\n\u00e9")
    corpus += [r.to_dict() for r in response.results] + [response.to_dict()]
    corpus += _edge_cases() + _result_shapes()
    for value in corpus:
        new, old = _outcome(checked_results, value), _outcome(_checked_before, value)
        assert new == old, repr(value)[:200]
        assert new[0] == "error" or new[1] is value
    refused = [v for v in corpus if _outcome(checked_results, v)[0] == "error"]
    assert len(refused) > 100  # the spoiled shapes: unwritable values at every depth, cycles
