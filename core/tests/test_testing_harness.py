"""stoq.testing helpers: make_stoq isolation, run_plugin on bytes/files/classes, walk, fixtures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import pytest

from stoq import (
    ExtractedPayload,
    Payload,
    RequestMeta,
    StoqPluginTimeout,
    WorkerResponse,
)
from stoq.plugins import WorkerPlugin
from stoq.testing import make_stoq, run_plugin, walk
from stoq_test_plugins.workers import OptionsWorker

pytest_plugins = ["pytester"]


class TailWorker(WorkerPlugin):
    """Extracts the payload minus its first byte, so "abc" → "bc" → "c" (three levels)."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        tail = payload.content[1:]
        extracted = [ExtractedPayload(tail)] if tail else []
        return WorkerResponse({"size": len(payload.content)}, extracted=extracted)


class MetaWorker(WorkerPlugin):
    """Reports the metadata its payload arrived with."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse(
            {"extra_data": payload.payload_meta.extra_data, "size": len(payload.content)}
        )


def test_make_stoq_ignores_the_user_configuration(isolated_home: Path) -> None:
    """A stoq.toml in $STOQ_HOME changes neither core settings nor plugin options."""
    (isolated_home / "stoq.toml").write_text(
        '[core]\nalways_dispatch = ["simple_worker"]\nmax_recursion = 2\n'
        '[plugins.options_worker]\ncolour = "red"\n'
    )
    with make_stoq() as stoq:
        assert stoq.settings.always_dispatch == []
        assert stoq.settings.sources["max_recursion"] == "default"
        assert stoq.load_plugin("options_worker").plugin_opts["colour"] == "blue"
    assert os.environ["STOQ_HOME"] == str(isolated_home)


def test_make_stoq_takes_profile_and_options_from_the_test() -> None:
    """No profile unless asked; plugin_opts and Stoq arguments pass through."""
    with make_stoq(plugin_opts={"options_worker": {"level": 5}}, max_recursion=3) as stoq:
        assert stoq.settings.dispatchers == []
        assert stoq.settings.max_recursion == 3
        assert stoq.load_plugin("options_worker").plugin_opts == {
            "colour": "blue",
            "level": 5,
            "pattern": "100%",
        }


def test_make_stoq_builds_a_class_that_is_not_installed() -> None:
    """A class given under a name is used for that name, with its options merged."""
    with make_stoq(plugins={"meta": MetaWorker}, always_dispatch=["meta"]) as stoq:
        response = stoq.scan(b"four")
    assert response.errors == []
    assert response.results[0].workers[0]["meta"] == {"extra_data": {}, "size": 4}


def test_make_stoq_refuses_something_that_is_not_a_plugin_class() -> None:
    """The error names the key and what was expected."""
    with pytest.raises(
        TypeError, match=r"'oops' maps to .*expected a subclass of stoq.plugins.BasePlugin"
    ):
        make_stoq(plugins={"oops": dict})  # type: ignore[dict-item]


def test_run_plugin_by_entry_point_name_on_bytes() -> None:
    """The installed simple_worker reports the size of the bytes given."""
    response = run_plugin("simple_worker", "scan", b"12345")
    assert isinstance(response, WorkerResponse)
    assert response.results == {"size": 5}


def test_run_plugin_on_a_file_reads_it_and_records_its_name(tmp_path: Path) -> None:
    """A path is read from disk; its name goes into extra_data as `stoq scan` does."""
    sample = tmp_path / "sample.bin"
    sample.write_bytes(bytes(range(200)))
    response = run_plugin(MetaWorker, "scan", sample)
    assert response.results == {"extra_data": {"filename": "sample.bin"}, "size": 200}


def test_run_plugin_with_a_class_merges_its_default_options() -> None:
    """Options given by the test override DEFAULT_OPTIONS key by key, types kept."""
    response = run_plugin(OptionsWorker, "scan", b"x", plugin_opts={"level": 7})
    assert response.results["plugin_opts"] == {"colour": "blue", "level": 7, "pattern": "100%"}
    assert response.results["config"]["level"] == "7"


def test_run_plugin_lets_the_plugins_exception_through() -> None:
    """A raising plugin raises in the test, so pytest shows its traceback."""
    with pytest.raises(RuntimeError, match="raise_worker always fails"):
        run_plugin("raise_worker", "scan", b"x")


def test_run_plugin_stops_a_call_past_its_timeout() -> None:
    """The plugin's own timeout option applies; the error names plugin, method and limit."""
    with pytest.raises(
        StoqPluginTimeout, match=r"'sleep_worker' scan\(\) did not finish within 0.2s"
    ):
        run_plugin("sleep_worker", "scan", b"x", plugin_opts={"timeout": 0.2, "seconds": 5})


def test_run_plugin_names_an_unknown_method() -> None:
    """A typo in the method name is a clear error, not an AttributeError deep inside."""
    with pytest.raises(ValueError, match="unknown plugin method 'scna'"):
        run_plugin("simple_worker", "scna", b"x")
    with pytest.raises(
        AttributeError,
        match=r"'simple_worker' \(SimpleWorker, roles \['worker'\]\) has no method 'decorate'",
    ):
        run_plugin("simple_worker", "decorate", b"x")


def test_run_plugin_decorate_scans_bytes_into_a_response() -> None:
    """For decorate, bytes are scanned first and the decorator sees that response."""
    result = run_plugin("multi_role", "decorate", b"content")
    assert result.results["payloads"] == 1


def test_run_plugin_ingest_returns_what_the_provider_queued() -> None:
    """Payloads and archiver tasks come back in queue order."""
    items = run_plugin("multi_role", "ingest", plugin_opts={"items": ["one", "task:two"]})
    assert isinstance(items[0], Payload) and items[0].content == b"one"
    assert items[1] == {"multi_role": "two"}


def test_walk_gives_each_result_its_depth_in_scan_order() -> None:
    """abc at depth 0, bc at 1, c at 2: depth follows extracted_from, not list position."""
    with make_stoq(plugins={"tail": TailWorker}, always_dispatch=["tail"]) as stoq:
        response = stoq.scan(b"abc")
    assert [(depth, result.size) for depth, result in walk(response)] == [(0, 3), (1, 2), (2, 1)]
    assert [r.extracted_by for _, r in walk(response)] == [None, "tail", "tail"]


def test_stoq_factory_closes_its_instances_and_data_dir_is_beside_the_module(
    pytester: pytest.Pytester,
) -> None:
    """Plugins built through stoq_factory are stopped after the test; data_dir is tests/data."""
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "sample.txt").write_text("hello")
    pytester.makepyfile(
        test_fixtures="""
        EVENTS = []

        def test_uses_the_factory(stoq_factory):
            plugin = stoq_factory().load_plugin("multi_role")
            EVENTS.append(plugin.events)
            assert plugin.events == ["start"]

        def test_the_plugin_was_stopped():
            assert EVENTS[0] == ["start", "stop"]

        def test_data_dir(data_dir):
            assert (data_dir / "sample.txt").read_text() == "hello"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest").assert_outcomes(
        passed=3
    )


def test_public_names_are_listed_sorted() -> None:
    """stoq.testing's __all__ is the documented surface, sorted, and every name exists."""
    import stoq.testing

    assert stoq.testing.__all__ == sorted(stoq.testing.__all__)
    assert all(hasattr(stoq.testing, name) for name in stoq.testing.__all__)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            {"a": [1, {"b": {1, 2}}]},
            "results['a'][1]['b'] is a set ({1, 2}), which json.dumps cannot encode",
        ),
        ({"ratio": float("nan")}, "results['ratio'] is nan, which is not valid JSON"),
        ({(1, 2): "x"}, "results has a key of type tuple ((1, 2))"),
    ],
)
def test_json_check_names_the_first_value_json_refuses(value: object, problem: str) -> None:
    """The path to the bad value is spelled as Python would index it."""
    from stoq.testing._checks import json_problem

    assert json_problem({"fine": [1, "two", None, 3.5]}, "results") is None
    assert (json_problem(value, "results") or "").startswith(problem)
