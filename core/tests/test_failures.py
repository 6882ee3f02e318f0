"""SPEC §5.2: every failure becomes one Error and the request goes on."""

from __future__ import annotations

import logging
import time
from queue import Queue

import pytest

from stoq import Error, StoqException
from stoq.plugins import (
    ArchiverPlugin,
    ConnectorPlugin,
    DecoratorPlugin,
    DeepDispatcherPlugin,
    DispatcherPlugin,
    ProviderPlugin,
    WorkerPlugin,
)


def _errors(response):
    return [(e.plugin_name, e.stage) for e in response.errors]


def test_worker_that_raises_is_one_error_and_the_rest_runs(
    build, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception becomes a one-line Error; the traceback goes to the log."""
    stoq = build(always_dispatch=["raise_worker", "simple_worker"])
    with caplog.at_level(logging.ERROR, logger="stoq"):
        response = stoq.scan(b"abc")
    [error] = response.errors
    assert error.to_dict() == {
        "plugin_name": "raise_worker",
        "payload_id": response.results[0].payload_id,
        "stage": "scan",
        "error": "RuntimeError: raise_worker always fails second line",
    }
    assert response.results[0].workers[0] == {"simple_worker": {"size": 3}}
    assert response.results[0].plugins_run["workers"][0] == ["raise_worker", "simple_worker"]
    assert "Traceback" in caplog.text and "raise_worker always fails" in caplog.text


def test_worker_past_its_deadline_is_a_timeout_error(build) -> None:
    """A call past its deadline is stopped and reported with stage 'timeout'."""
    stoq = build(always_dispatch=["sleep_worker", "simple_worker"], plugin_timeout=0.3)
    started = time.monotonic()
    response = stoq.scan(b"abc")
    assert time.monotonic() - started < 5
    assert _errors(response) == [("sleep_worker", "timeout")]
    assert "timed out after 0.3s" in response.errors[0].error
    assert response.results[0].workers[0] == {"simple_worker": {"size": 3}}


def test_per_plugin_timeout_option_overrides_plugin_timeout(build) -> None:
    """The plugin's `timeout` option beats plugin_timeout."""
    stoq = build(
        always_dispatch=["sleep_worker"],
        plugin_timeout=60,
        plugin_opts={"sleep_worker": {"timeout": 0.2, "seconds": 10}},
    )
    response = stoq.scan(b"abc")
    assert _errors(response) == [("sleep_worker", "timeout")]


def test_a_call_within_its_deadline_is_untouched(build) -> None:
    """A short call under a deadline returns its result normally."""
    stoq = build(
        always_dispatch=["sleep_worker"],
        plugin_opts={"sleep_worker": {"seconds": 0.05, "timeout": 5}},
    )
    response = stoq.scan(b"abc")
    assert response.errors == []
    assert response.results[0].workers[0] == {"sleep_worker": {"slept": True}}


def test_a_timeout_does_not_leak_into_later_calls(build) -> None:
    """After a timed-out call, many following calls run cleanly."""
    stoq = build(
        always_dispatch=["sleep_worker"],
        plugin_opts={"sleep_worker": {"timeout": 0.1, "seconds": 1}},
    )
    stoq.scan(b"first")
    clean = build(always_dispatch=["simple_worker"])
    for i in range(200):
        assert clean.scan(b"%d" % i).errors == []


def test_wrong_return_type_is_an_error(build) -> None:
    """A worker returning something that is not a WorkerResponse is reported, not crashed on."""
    stoq = build(always_dispatch=["bad_return_worker", "simple_worker"])
    response = stoq.scan(b"abc")
    assert _errors(response) == [("bad_return_worker", "scan")]
    assert response.errors[0].error == "returned dict, expected WorkerResponse or None"
    assert "simple_worker" in response.results[0].workers[0]


def test_dispatcher_returning_none_means_nothing_to_add(build) -> None:
    """None from a dispatcher is not an error (a v2 defect)."""
    stoq = build(dispatchers=["none_dispatcher"], always_dispatch=["simple_worker"])
    response = stoq.scan(b"abc")
    assert response.errors == []
    assert response.results[0].plugins_run["workers"][0] == ["simple_worker"]


def test_unknown_plugin_is_a_load_error_with_close_matches(build) -> None:
    """An unknown name is one load Error that suggests close names."""
    stoq = build(always_dispatch=["simple_workr", "simple_worker"])
    response = stoq.scan(b"abc")
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("simple_workr", "load")
    assert "not installed" in error.error and "simple_worker" in error.error
    # As in v2, a worker that could not be loaded did not run: it is not in plugins_run.
    assert response.results[0].plugins_run["workers"][0] == ["simple_worker"]


def test_plugin_that_fails_to_import_is_a_load_error_each_time(build) -> None:
    """An import failure is reported (with its cause) in every request that names the plugin."""
    stoq = build(always_dispatch=["broken_import"])
    for _ in range(2):
        [error] = stoq.scan(b"abc").errors
        assert error.stage == "load"
        assert "ModuleNotFoundError" in error.error
        assert "stoq_dependency_that_does_not_exist" in error.error


def test_plugin_in_the_wrong_role_is_an_error(build) -> None:
    """Naming a worker as a dispatcher is reported at the dispatch stage."""
    stoq = build(dispatchers=["simple_worker"])
    response = stoq.scan(b"abc")
    assert _errors(response) == [("simple_worker", "dispatch")]
    assert "is not a DispatcherPlugin" in response.errors[0].error


def test_strings_in_response_errors_become_error_records(build) -> None:
    """The seed's plain-string error becomes an Error with plugin, payload and stage."""
    stoq = build(deep_dispatchers=["test_deep_dispatcher"])
    response = stoq.scan(b"abc")
    assert response.errors == [
        Error(
            "This is an example error and is completely optional",
            "test_deep_dispatcher",
            response.results[0].payload_id,
            "deep_dispatch",
        )
    ]


def test_failing_connector_is_counted_and_others_still_save(
    build, caplog: pytest.LogCaptureFixture
) -> None:
    """A connector failure is logged with the scan id and counted; later connectors still run."""
    stoq = build(connectors=["failing_connector", "multi_role"])
    with caplog.at_level(logging.ERROR, logger="stoq"):
        response = stoq.scan(b"abc")
    assert stoq.connector_failures == 1
    assert stoq.load_plugin("multi_role").saved == [response]
    assert response.scan_id in caplog.text and "disk full" in caplog.text


class _HalfWorker(WorkerPlugin):
    pass


class _HalfDispatcher(DispatcherPlugin):
    pass


class _HalfDeepDispatcher(DeepDispatcherPlugin):
    pass


class _HalfDecorator(DecoratorPlugin):
    pass


class _HalfArchiver(ArchiverPlugin):
    pass


class _HalfConnector(ConnectorPlugin):
    pass


class _HalfProvider(ProviderPlugin):
    pass


class _TaskProvider(ProviderPlugin):
    def ingest(self, queue: Queue) -> None:
        queue.put({"half_archiver": "a task"})


def _with_unfinished(stoq):
    """Plugins that subclass a role class and implement nothing."""
    for name, cls in [
        ("half_worker", _HalfWorker),
        ("half_dispatcher", _HalfDispatcher),
        ("half_deep_dispatcher", _HalfDeepDispatcher),
        ("half_decorator", _HalfDecorator),
        ("half_archiver", _HalfArchiver),
        ("half_connector", _HalfConnector),
        ("half_provider", _HalfProvider),
        ("task_provider", _TaskProvider),
    ]:
        stoq.plugins.build(name, cls)
    return stoq


def test_a_role_method_left_unimplemented_is_one_error_per_call(build) -> None:
    """The role classes' methods raise NotImplementedError naming the plugin class and the
    method: each becomes one Error at its stage, and the rest of the request still runs."""
    stoq = _with_unfinished(
        build(
            always_dispatch=["half_worker", "simple_worker"],
            dispatchers=["half_dispatcher"],
            deep_dispatchers=["half_deep_dispatcher"],
            decorators=["half_decorator"],
            dest_archivers=["half_archiver"],
            connectors=["half_connector", "multi_role"],
        )
    )
    response = stoq.scan(b"abc")
    errors = {(e.plugin_name, e.stage): e.error for e in response.errors}
    expected = "NotImplementedError: _Half{} must implement {}()".format
    assert errors == {
        ("half_dispatcher", "dispatch"): expected("Dispatcher", "get_dispatches"),
        ("half_deep_dispatcher", "deep_dispatch"): expected(
            "DeepDispatcher", "get_deep_dispatches"
        ),
        ("half_worker", "scan"): expected("Worker", "scan"),
        ("half_archiver", "archive"): (
            "NotImplementedError: _HalfArchiver is not a destination archiver"
        ),
        ("half_decorator", "decorate"): expected("Decorator", "decorate"),
    }
    assert response.results[0].workers[0] == {"simple_worker": {"size": 3}}
    assert stoq.connector_failures == 1  # half_connector; multi_role still saved it
    assert stoq.load_plugin("multi_role").saved == [response]


def test_a_provider_or_source_archiver_left_unimplemented_is_reported(build) -> None:
    """An archiver that is not a source archiver: the task's response holds that error. A
    provider without ``ingest``: run mode says which provider failed, and why."""
    stoq = _with_unfinished(
        build(
            consumers=1,
            providers=["task_provider"],
            source_archivers=["half_archiver"],
            connectors=["multi_role"],
        )
    )
    stoq.run()
    [saved] = stoq.load_plugin("multi_role").saved
    assert [(e.plugin_name, e.error) for e in saved.errors] == [
        ("half_archiver", "NotImplementedError: _HalfArchiver is not a source archiver")
    ]
    stoq = _with_unfinished(build(consumers=1, providers=["half_provider"]))
    with pytest.raises(StoqException, match="provider 'half_provider' failed") as raised:
        stoq.run()
    assert str(raised.value.__cause__) == "_HalfProvider must implement ingest()"
