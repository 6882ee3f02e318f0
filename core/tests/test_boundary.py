"""SPEC §5.2 and §5.7: whatever a plugin returns or does becomes at most one Error for it,
the response stays writable as standard JSON, and the rest of the work is intact."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from stoq import Error, Payload, PayloadMeta
from stoq.serialize import dumps


def _hostile(build, mode: str, *others: str, **kwargs):
    opts = kwargs.pop("plugin_opts", {})
    opts.setdefault("hostile_worker", {})["mode"] = mode
    return build(always_dispatch=["hostile_worker", *others], plugin_opts=opts, **kwargs)


def _errors(response):
    return [(e.plugin_name, e.stage) for e in response.errors]


def test_bytes_keys_and_values_are_written_as_text(build) -> None:
    """Bytes keys no longer make the response unprintable; undecodable bytes are escaped."""
    response = _hostile(build, "bytes_keys", "simple_worker").scan(b"abc")
    assert response.errors == []
    out = json.loads(dumps(response))
    assert out["results"][0]["workers"][0]["hostile_worker"] == {
        "key\\xff": "value\\xfe",
        "nested": {"k": 1},
    }
    assert json.loads(str(response)) == out


def test_nan_and_infinity_become_strings_in_standard_json(build) -> None:
    """Standard JSON has no NaN or Infinity: strict parsers must accept the output."""
    response = _hostile(build, "non_finite").scan(b"abc")
    text = dumps(response)

    def refuse(name: str) -> None:
        raise ValueError(f"non-standard constant {name}")

    out = json.loads(text, parse_constant=refuse)
    assert out["results"][0]["workers"][0]["hostile_worker"] == {
        "nan": "NaN",
        "inf": ["Infinity", "-Infinity"],
    }


@pytest.mark.parametrize("mode", ["cycle", "opaque"])
def test_results_no_conversion_can_write_are_one_error_for_that_plugin(build, mode) -> None:
    """A result that contains itself, or an object that cannot describe itself: one Error."""
    response = _hostile(build, mode, "simple_worker").scan(b"abc")
    assert _errors(response) == [("hostile_worker", "scan")]
    assert response.errors[0].error.startswith("unusable response:")
    assert response.results[0].workers[0] == {"simple_worker": {"size": 3}}
    json.loads(dumps(response))


def test_one_bad_result_never_costs_other_requests(build) -> None:
    stoq = _hostile(build, "cycle")
    first = stoq.scan(b"one")
    second = stoq.scan(b"two")
    assert len(first.errors) == len(second.errors) == 1
    json.loads(dumps(second))


def test_dispatcher_plugin_names_as_text_is_reported_as_a_wrong_type(build) -> None:
    """Not split into letters ('plugin h is not installed'): the wrong type, named."""
    stoq = build(dispatchers=["hostile_dispatcher"], always_dispatch=["second_worker"])
    response = stoq.scan(b"abc")
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("hostile_dispatcher", "dispatch")
    assert "plugin_names is the text 'simple_worker', expected a list" in error.error
    assert response.results[0].plugins_run["workers"][0] == ["second_worker"]


def test_payload_meta_dispatch_to_as_text_is_the_same_clear_error(build) -> None:
    response = _hostile(build, "dispatch_to_text").scan(b"parent")
    child = response.results[1]
    assert child.plugins_run["workers"][0] == ["hostile_worker"]
    [error] = response.errors
    assert (error.plugin_name, error.stage, error.payload_id) == (
        "hostile_worker",
        "dispatch",
        child.payload_id,
    )
    assert "payload_meta.dispatch_to is the text 'simple_worker'" in error.error


def test_start_dispatch_as_text_is_reported(build) -> None:
    response = build().scan(b"abc", add_start_dispatch="simple_worker")  # type: ignore[arg-type]
    assert _errors(response) == [(None, "dispatch")]
    assert response.results[0].plugins_run["workers"][0] == []


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("content_int", "payload content is int, expected bytes"),
        ("meta_text", "payload_meta is str, expected PayloadMeta"),
        ("extracted_int", "extracted is int, expected a list of ExtractedPayload"),
    ],
)
def test_malformed_extracted_payloads_are_one_error_and_the_scan_goes_on(
    build, mode, message
) -> None:
    stoq = _hostile(build, mode, "simple_worker")
    response = stoq.scan(b"abc")
    root = response.results[0].payload_id
    [error] = [e for e in response.errors if e.payload_id == root]
    assert (error.plugin_name, error.stage) == ("hostile_worker", "scan")
    assert message in error.error
    assert response.results[0].workers[0]["simple_worker"] == {"size": 3}
    if mode == "content_int":  # the good sibling is still extracted and scanned
        assert [r.size for r in response.results][:2] == [3, 4]
    assert stoq.scan(b"next file").results[0].workers[0]["simple_worker"] == {"size": 9}


def test_sys_exit_in_a_plugin_is_an_error_not_the_end_of_stoq(build) -> None:
    stoq = _hostile(build, "exit", "simple_worker")
    response = stoq.scan(b"abc")
    assert _errors(response) == [("hostile_worker", "scan")]
    assert response.errors[0].error == "SystemExit: 7"
    assert response.results[0].workers[0] == {"simple_worker": {"size": 3}}


def test_keyboard_interrupt_from_a_plugin_stops_the_scan(build) -> None:
    with pytest.raises(KeyboardInterrupt):
        _hostile(build, "interrupt").scan(b"abc")


def test_payload_content_is_read_only_to_plugins(build) -> None:
    """A worker cannot change what later workers see while the sha256 describes the old bytes."""
    stoq = _hostile(build, "rewrite", "simple_worker")
    response = stoq.scan(b"abc")
    assert _errors(response) == [("hostile_worker", "scan")]
    assert "AttributeError" in response.errors[0].error
    assert response.results[0].workers[0]["simple_worker"] == {"size": 3}


def test_payload_from_a_bytearray_is_a_private_copy() -> None:
    data = bytearray(b"abc")
    payload = Payload(data)
    data[0] = ord("x")
    assert payload.content == b"abc" and isinstance(payload.content, bytes)


def test_every_error_is_one_line_load_errors_included(build) -> None:
    stoq = build(
        always_dispatch=["hostile_worker"],
        plugin_opts={"hostile_worker": {"start_mode": "two_lines"}},
    )
    [error] = stoq.scan(b"abc").errors
    assert error.stage == "load"
    assert "\n" not in error.error and "first line second line" in error.error
    assert Error("a\nb\r\nc").error == "a b c"


@pytest.mark.parametrize("start_mode", ["hang", "hang_in_init"])
def test_a_start_that_hangs_is_a_load_error_within_the_plugin_deadline(build, start_mode) -> None:
    """``start()`` and the constructor (where v2 plugins did their setup) alike."""
    stoq = build(
        always_dispatch=["hostile_worker", "simple_worker"],
        plugin_opts={"hostile_worker": {"start_mode": start_mode, "timeout": 0.5}},
    )
    started = time.monotonic()
    response = stoq.scan(b"abc")
    assert time.monotonic() - started < 10
    assert _errors(response) == [("hostile_worker", "load")]
    assert "__init__() and start() did not finish within 0.5s" in (response.errors[0].error)
    assert response.results[0].workers[0] == {"simple_worker": {"size": 3}}


@pytest.mark.parametrize("stop_mode", ["hang", "exit"])
def test_a_stop_that_hangs_or_exits_is_logged_and_closing_goes_on(
    build, caplog: pytest.LogCaptureFixture, stop_mode: str
) -> None:
    """``stop()`` gets the plugin's deadline, as ``start()`` does: closing never hangs, and
    the other plugins are still stopped."""
    stoq = build(
        always_dispatch=["hostile_worker"],
        connectors=["multi_role"],
        plugin_opts={"hostile_worker": {"stop_mode": stop_mode, "timeout": 0.5}},
    )
    stoq.scan(b"abc")
    other = stoq.load_plugin("multi_role")
    started = time.monotonic()
    stoq.close()
    assert time.monotonic() - started < 0.5 + 1.5
    expected = {"hang": "stop() did not finish within 0.5s", "exit": "stop() failed"}[stop_mode]
    assert f"plugin 'hostile_worker': {expected}" in caplog.text
    assert other.events[-1] == "stop"


def test_always_dispatch_duplicates_run_once_without_a_dispatcher(build) -> None:
    stoq = build(always_dispatch=["simple_worker", "second_worker", "simple_worker"])
    response = stoq.scan(b"abc")
    assert response.results[0].plugins_run["workers"][0] == ["simple_worker", "second_worker"]


def test_role_lists_live_in_settings_only(build) -> None:
    """Set after construction, a role list is what scans and consumer processes read."""
    stoq = build()
    stoq.always_dispatch = ["simple_worker", "simple_worker"]
    assert stoq.settings.always_dispatch == ["simple_worker"]
    assert stoq.scan(b"abc").results[0].plugins_run["workers"][0] == ["simple_worker"]
    from stoq.consumers import stoq_for

    assert stoq_for(stoq)[1]["always_dispatch"] == ["simple_worker"]


def test_a_plugin_reports_its_own_limit_as_a_limit_error(build) -> None:
    """Extractors say 'not everything was scanned' with Error(stage='limit')."""
    response = _hostile(build, "limit").scan(b"abc")
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("hostile_worker", "limit")


def test_a_stuck_call_on_the_main_thread_is_interrupted_at_its_deadline(build) -> None:
    """time.sleep(600) in C: SIGALRM sent to the main thread interrupts the system call."""
    stoq = build(
        always_dispatch=["stuck_worker", "simple_worker"],
        plugin_opts={"stuck_worker": {"timeout": 0.5}},
    )
    started = time.monotonic()
    response = stoq.scan(b"abc")
    assert time.monotonic() - started < 3
    assert _errors(response) == [("stuck_worker", "timeout")]
    assert response.results[0].workers[0] == {"simple_worker": {"size": 3}}


def test_a_plugin_that_swallows_the_timeout_is_stopped_anyway(build) -> None:
    stoq = build(
        always_dispatch=["hostile_worker"],
        plugin_opts={"hostile_worker": {"mode": "swallow", "timeout": 0.3}},
    )
    started = time.monotonic()
    response = stoq.scan(b"abc")
    assert time.monotonic() - started < 3
    assert _errors(response) == [("hostile_worker", "timeout")]


@pytest.mark.parametrize("on_thread", [False, True], ids=["main thread", "other thread"])
def test_a_timeout_landing_in_a_finalizer_still_ends_the_call(build, on_thread) -> None:
    """Python swallows an exception raised in ``__del__`` ("Exception ignored in"); the
    timeout is raised again at once, so a plugin working in finalizers stops on time."""
    import threading

    stoq = build(
        always_dispatch=["hostile_worker", "simple_worker"],
        plugin_opts={"hostile_worker": {"mode": "finalizers", "timeout": 0.5}},
    )
    box = []
    started = time.monotonic()
    if on_thread:
        thread = threading.Thread(target=lambda: box.append(stoq.scan(b"abc")))
        thread.start()
        thread.join(30)
    else:
        box.append(stoq.scan(b"abc"))
    assert time.monotonic() - started < 0.5 + 1.5
    assert _errors(box[0]) == [("hostile_worker", "timeout")]
    assert box[0].results[0].workers[0] == {"simple_worker": {"size": 3}}


def test_a_stuck_call_on_another_thread_times_out_through_the_watchdog(build) -> None:
    import threading

    stoq = build(
        always_dispatch=["hostile_worker"],
        plugin_opts={"hostile_worker": {"mode": "swallow", "timeout": 0.3}},
    )
    box = []
    thread = threading.Thread(target=lambda: box.append(stoq.scan(b"abc")))
    started = time.monotonic()
    thread.start()
    thread.join(10)
    assert time.monotonic() - started < 3
    assert _errors(box[0]) == [("hostile_worker", "timeout")]


def test_isolated_plugin_children_die_with_it(build, tmp_path: Path) -> None:
    """The isolated plugin's process group is killed at the deadline, its children too."""
    pid_file = tmp_path / "pid"
    stoq = build(
        always_dispatch=["hostile_worker"],
        plugin_opts={
            "hostile_worker": {
                "mode": "children",
                "pid_file": str(pid_file),
                "isolation": "process",
                "timeout": 2,
            }
        },
    )
    response = stoq.scan(b"abc")
    assert _errors(response) == [("hostile_worker", "timeout")]
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_memory_limit_above_the_inherited_hard_limit_says_why(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (8 * 1024**3, 8 * 1024**3))\n"
        "from stoq.testing import make_stoq\n"
        "stoq = make_stoq(always_dispatch=['simple_worker'], plugin_opts={'simple_worker':"
        " {'isolation': 'process', 'memory_limit': '16G'}})\n"
        "print(stoq.scan(b'x').errors[0].error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "above the hard address-space limit of 8589934592 bytes" in out.stdout


def test_a_plugin_option_the_core_reads_with_a_bad_value_is_a_load_error(build) -> None:
    stoq = build(
        always_dispatch=["simple_worker", "second_worker"],
        plugin_opts={"simple_worker": {"timeout": "abc"}},
    )
    response = stoq.scan(b"abc")
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("simple_worker", "load")
    assert "option 'timeout' = 'abc': expected a positive number of seconds" in error.error
    assert response.results[0].workers[0] == {"second_worker": {"size": 3}}


def test_timeout_zero_means_the_engine_default(build) -> None:
    stoq = build(
        always_dispatch=["simple_worker"],
        plugin_timeout=7,
        plugin_opts={"simple_worker": {"timeout": 0}},
    )
    assert stoq.scan(b"abc").errors == []
    assert stoq.timeout_for("simple_worker") == 7


def test_options_arrive_typed_as_their_declared_defaults(build) -> None:
    stoq = build(
        always_dispatch=["options_worker"],
        plugin_opts={"options_worker": {"level": "5", "colour": 3}},
    )
    opts = stoq.scan(b"abc").results[0].workers[0]["options_worker"]["plugin_opts"]
    assert opts["level"] == 5 and opts["colour"] == "3"


def test_an_option_that_does_not_convert_names_plugin_key_and_type(build) -> None:
    stoq = build(
        always_dispatch=["options_worker"], plugin_opts={"options_worker": {"level": "high"}}
    )
    [error] = stoq.scan(b"abc").errors
    assert error.stage == "load"
    assert "plugin 'options_worker': option 'level' = 'high': expected a whole number" in (
        error.error
    )


def test_a_source_archiver_that_is_not_configured_is_an_error_for_the_item(build) -> None:
    stoq = build(
        consumers=1,
        providers=["multi_role"],
        connectors=["multi_role"],
        plugin_opts={"multi_role": {"items": ["task:abc"]}},
    )
    stoq.run()
    [response] = stoq.load_plugin("multi_role").saved
    assert response.results == []
    assert "not a configured source archiver" in response.errors[0].error


def test_a_root_name_that_is_not_utf8_is_escaped_in_the_output(build) -> None:
    name = os.fsdecode(b"caf\xe9.bin")  # what Python makes of a Latin-1 file name
    response = build().scan(b"abc", PayloadMeta(extra_data={"filename": name}))
    text = dumps(response)
    text.encode("utf-8")  # strict: no lone surrogates
    assert json.loads(text)["results"][0]["payload_meta"]["extra_data"]["filename"] == (
        "caf\\xe9.bin"
    )
