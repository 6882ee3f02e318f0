"""The public API: complete, sorted, v2-compatible constructors, cheap to import."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

import stoq
from stoq import (
    ArchiverResponse,
    DecoratorResponse,
    DeepDispatcherResponse,
    DispatcherResponse,
    Error,
    ExtractedPayload,
    Payload,
    PayloadMeta,
    RequestMeta,
    StoqResponse,
    WorkerResponse,
)


def test_all_is_sorted_and_complete() -> None:
    """Every public name is listed once, sorted, and importable."""
    assert stoq.__all__ == sorted(stoq.__all__)
    for name in stoq.__all__:
        assert hasattr(stoq, name), name
    expected = {
        "Stoq",
        "Payload",
        "PayloadMeta",
        "PayloadResults",
        "RequestMeta",
        "StoqResponse",
        "ExtractedPayload",
        "WorkerResponse",
        "DispatcherResponse",
        "DeepDispatcherResponse",
        "ArchiverResponse",
        "DecoratorResponse",
        "Error",
        "__version__",
    }
    assert expected <= set(stoq.__all__)


def test_v2_import_paths() -> None:
    """The seed's import lines and the v2 module paths work."""
    from stoq.data_classes import DeepDispatcherResponse as D1
    from stoq.plugins import DeepDispatcherPlugin
    from stoq.plugins.deep_dispatcher import DeepDispatcherPlugin as D2

    assert D1 is DeepDispatcherResponse
    assert D2 is DeepDispatcherPlugin


def test_v2_constructor_defaults() -> None:
    """Constructors and defaults follow stoQ v2."""
    meta = PayloadMeta()
    assert (meta.should_archive, meta.extra_data, meta.dispatch_to, meta.should_scan) == (
        True,
        {},
        [],
        True,
    )
    payload = Payload("text")
    assert payload.content == b"text"
    assert payload.worker_results == [{}]
    assert payload.plugins_run == {"workers": [[]], "archivers": []}
    assert payload.dispatch_meta == {} and payload.deep_dispatch_meta == {}
    assert len(payload.payload_id) == 36
    request = RequestMeta()
    assert (request.archive_payloads, request.source, request.extra_data) == (True, None, {})
    assert WorkerResponse().extracted == [] and WorkerResponse().errors == []
    for cls in (DispatcherResponse, DeepDispatcherResponse):
        response = cls()
        assert (response.plugin_names, response.meta, response.errors) == ([], {}, [])
    assert ArchiverResponse().errors == [] and DecoratorResponse().results is None
    assert ExtractedPayload(b"x").payload_meta.should_scan is True
    error = Error("boom", plugin_name="p", payload_id="id", stage="scan")
    assert json.loads(str(error)) == {
        "plugin_name": "p",
        "payload_id": "id",
        "stage": "scan",
        "error": "boom",
    }


def test_defaults_are_not_shared_between_instances() -> None:
    """Mutable defaults are fresh per instance (a classic v2-port bug)."""
    first, second = DeepDispatcherResponse(), DeepDispatcherResponse()
    first.plugin_names.append("x")
    first.meta["k"] = 1
    assert second.plugin_names == [] and second.meta == {}


def test_every_class_prints_as_json() -> None:
    """str() of every data class is JSON, as in v2."""
    objects = [
        PayloadMeta(),
        RequestMeta(),
        Payload(b"a"),
        ExtractedPayload(b"a"),
        WorkerResponse({"a": 1}),
        DispatcherResponse(["w"]),
        DeepDispatcherResponse(["w"]),
        ArchiverResponse({"a": 1}),
        DecoratorResponse({"a": 1}),
        Error("e"),
        StoqResponse([], RequestMeta(), []),
    ]
    for obj in objects:
        assert isinstance(json.loads(str(obj)), dict), type(obj).__name__


def test_import_stoq_loads_no_plugin_and_no_heavy_dependency() -> None:
    """`import stoq` imports neither plugin code nor stevedore/packaging."""
    code = (
        "import sys, stoq; "
        "bad = [m for m in sys.modules if m.startswith(('stoq_test_plugins', 'stoq_plugin_', "
        "'stevedore', 'packaging', 'yara', 'magic'))]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_library_logger_has_only_a_null_handler() -> None:
    """The library never configures logging output by itself."""
    import logging

    from stoq import Stoq

    before = list(logging.getLogger("stoq").handlers)
    Stoq()
    Stoq()
    assert logging.getLogger("stoq").handlers == before
    assert any(isinstance(h, logging.NullHandler) for h in before)


def test_ids_are_random_version_4_uuids() -> None:
    """payload_id and scan_id are RFC 4122 version 4 UUIDs, unique per object."""
    import uuid

    ids = [Payload(b"x").payload_id for _ in range(1000)] + [
        StoqResponse([], RequestMeta(), []).scan_id
    ]
    assert len(set(ids)) == len(ids)
    for text in ids[:50] + ids[-1:]:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


def test_import_stoq_loads_the_engine_only_when_a_name_is_used() -> None:
    """`import stoq` is the version and the logger; `stoq.Stoq` imports the engine then."""
    code = (
        "import sys, stoq; before = sorted(m for m in sys.modules if m.startswith('stoq'));"
        "engine = stoq.Stoq; print(before, 'stoq.core' in sys.modules, engine.__module__,"
        " stoq.Payload.__module__, 'Stoq' in dir(stoq))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "['stoq',",
        "'stoq.__about__']",
        "True",
        "stoq.core",
        "stoq.data_classes",
        "True",
    ]


def test_an_unknown_name_is_an_attribute_error() -> None:
    """The lazy public names do not turn typos into anything but AttributeError."""
    import stoq

    with pytest.raises(AttributeError, match="no attribute 'Stoqq'"):
        stoq.Stoqq  # noqa: B018


def test_version_is_answered_without_loading_the_subcommands() -> None:
    """`stoq --version` prints what the full parser would, without importing the engine."""
    from stoq.cli import build_parser, version_line

    code = (
        "import sys; from stoq.cli import main; status = main(['--version']);"
        "print(status, 'stoq.core' in sys.modules, 'stoq.cli.common' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [version_line(), "0 False False"]
    assert f"(Python {platform.python_version()}, " in version_line()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
