"""SPEC §4 and §6: programs and plugin folders written for stoQ v2 keep working.

The folders under ``v2-plugins`` are written the way the public v2 plugins are (a module and a
``.stoq`` file per folder, every role, every v2 import path); those under
``v2-invalid-plugins`` are broken the ways v2's own tests break them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from pathlib import Path
from queue import Queue
from typing import Any, Dict, List

import pytest

from stoq import Payload, RequestMeta, Stoq, StoqException, StoqPluginLoadError
from stoq.plugin_manager import StoqPluginManager
from stoq.plugins import ConnectorPlugin, ProviderPlugin

HERE = Path(__file__).parent
V2_PLUGINS = HERE / "v2-plugins"
INVALID = HERE / "v2-invalid-plugins"


@pytest.fixture
def dirs(tmp_path: Path) -> Dict[str, Path]:
    """Empty folders for the provider, the archive and the results."""
    made = {name: tmp_path / name for name in ("source", "archive", "results")}
    for folder in made.values():
        folder.mkdir()
    return made


def _every_role(build: Any, dirs: Dict[str, Path], **overrides: Any) -> Stoq:
    """A Stoq using a v2 folder plugin in every role (``overrides`` replace arguments)."""
    provider_opts = {"source_dir": str(dirs["source"]), **overrides.pop("provider_opts", {})}
    kwargs = {
        "plugin_dir_list": [str(V2_PLUGINS)],
        "plugin_opts": {
            "v2_provider": provider_opts,
            "v2_filestore": {
                "archive_dir": str(dirs["archive"]),
                "results_dir": str(dirs["results"]),
            },
        },
        "providers": ["v2_provider"],
        "dispatchers": ["v2_dispatcher"],
        "deep_dispatchers": ["v2_deep_dispatcher"],
        "dest_archivers": ["v2_filestore"],
        "connectors": ["v2_filestore"],
        "decorators": ["v2_decorator"],
        **overrides,
    }
    return build(**kwargs)


def _saved(results_dir: Path) -> List[Dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results_dir.iterdir())]


# -- every role, every import path ------------------------------------------------------------


def test_v2_folder_plugins_of_every_role_run_in_a_scan(build, dirs) -> None:
    """Dispatcher, worker, deep dispatcher, archiver, decorator and connector all take part."""
    stoq = _every_role(build, dirs)
    response = stoq.scan(b"left|right", request_meta=RequestMeta(source="v2"))
    root, left, right = response.results
    assert root.workers[0]["v2_hasher"]["md5"] == hashlib.md5(b"left|right").hexdigest()
    assert root.plugins_run["workers"] == [["v2_hasher"], ["folder_worker"]]
    assert root.workers[1]["folder_worker"]["greeting"] == "hello from the .stoq file"
    assert root.dispatch_meta["v2_dispatcher"] == {"size": 10}
    assert (
        root.deep_dispatch_meta["v2_deep_dispatcher"]["md5"] == root.workers[0]["v2_hasher"]["md5"]
    )
    assert [left.extracted_from, right.extracted_from] == [root.payload_id] * 2
    assert (dirs["archive"] / root.workers[0]["v2_hasher"]["sha1"]).read_bytes() == b"left|right"
    assert root.archivers["v2_filestore"]["path"].startswith(str(dirs["archive"]))
    assert response.decorators["v2_decorator"] == {"payloads": 3, "worker_results": 6}
    assert response.errors == []
    [saved] = _saved(dirs["results"])
    assert saved["scan_id"] == response.scan_id and saved["request_meta"]["source"] == "v2"


def test_v2_worker_errors_as_strings_become_records(build, dirs) -> None:
    """A v2 worker's string errors are kept, as Error records naming the worker."""
    response = _every_role(build, dirs).scan(b"a||b")
    [error] = response.errors
    assert (error.plugin_name, error.stage, error.error) == ("v2_hasher", "scan", "part 1 is empty")


def test_v2_folder_plugins_run_in_run_mode_with_consumer_processes(build, dirs) -> None:
    """The v2 provider feeds two consumer processes; the connector saves every response."""
    for name, content in (("a", b"one|two"), ("b", b"three"), ("c", b"four|five|six")):
        (dirs["source"] / name).write_bytes(content)
    _every_role(build, dirs, consumers=2).run()
    saved = _saved(dirs["results"])
    assert sorted(len(s["results"]) for s in saved) == [1, 3, 4]
    names = sorted(s["results"][0]["payload_meta"]["extra_data"]["filename"] for s in saved)
    assert names == ["a", "b", "c"]
    assert all(s["errors"] == [] for s in saved)


def test_a_v2_archiver_gets_its_task_as_an_archiver_response(build, dirs) -> None:
    """{archiver: task} from a provider reaches a folder archiver's get() as v2's
    ArchiverResponse(task), so ``task.results['path']`` works."""
    (dirs["source"] / "x").write_bytes(b"archived content")
    _every_role(
        build,
        dirs,
        consumers=1,
        source_archivers=["v2_filestore"],
        dest_archivers=[],
        provider_opts={"via_archiver": "v2_filestore"},
    ).run()
    [saved] = _saved(dirs["results"])
    assert saved["errors"] == []
    extra = saved["results"][0]["payload_meta"]["extra_data"]
    assert extra == {"path": str(dirs["source"] / "x")}
    assert saved["results"][0]["size"] == len(b"archived content")


def test_v2_folder_plugins_through_reconstruct_and_split(build, dirs) -> None:
    """reconstruct_all_subresponses re-decorates each subtree; split gives one worker each."""
    stoq = _every_role(build, dirs)
    response = stoq.scan(b"a|b")
    subs = list(stoq.reconstruct_all_subresponses(response))
    assert [len(s.results) for s in subs] == [3, 1, 1]
    assert subs[1].decorators["v2_decorator"] == {"payloads": 1, "worker_results": 2}
    parts = response.split()
    assert len(parts) == 6  # three payloads, each with v2_hasher then folder_worker
    assert [list(p["results"][0]["workers"][0]) for p in parts[:2]] == [
        ["v2_hasher"],
        ["folder_worker"],
    ]
    assert len(response.split_by_payload()) == 3


def test_v2_folder_plugins_beside_the_installed_test_plugins(build) -> None:
    """Folder plugins and installed plugins serve one request together."""
    stoq = build(plugin_dir_list=[str(V2_PLUGINS)], always_dispatch=["v2_hasher", "simple_worker"])
    response = stoq.scan(b"abc")
    assert response.errors == []
    assert list(response.results[0].workers[0]) == ["v2_hasher", "simple_worker"]


# -- invalid plugin folders -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing_module", "module 'missing_module' not found beside it"),
        ("missing_class", "no plugin class in"),
        ("two_classes", "defines 2 plugin classes (First, Second)"),
        ("min_version_too_high", "needs stoQ 9999.0 or newer (min_stoq_version)"),
    ],
)
def test_an_invalid_v2_plugin_is_refused_with_a_clear_error(build, name, message) -> None:
    """Each broken folder plugin fails to load with a message naming what is wrong."""
    stoq = build(plugin_dir_list=[str(INVALID)])
    with pytest.raises(StoqPluginLoadError, match=re.escape(message)):
        stoq.load_plugin(name)


def test_an_invalid_v2_plugin_is_one_load_error_in_a_scan(build) -> None:
    """In a scan each broken plugin is one load Error; the valid folder plugin still runs."""
    names = ["two_classes", "min_version_too_high", "folder_worker"]
    stoq = build(plugin_dir_list=[str(INVALID), str(V2_PLUGINS)], always_dispatch=names)
    response = stoq.scan(b"x")
    assert [(e.plugin_name, e.stage) for e in response.errors] == [
        ("two_classes", "load"),
        ("min_version_too_high", "load"),
    ]
    assert response.results[0].plugins_run["workers"] == [["folder_worker"]]


def test_an_unreadable_stoq_file_is_skipped_with_a_warning(build, caplog) -> None:
    """A .stoq file that does not parse provides no plugin (v2); the log says why."""
    with caplog.at_level(logging.WARNING, logger="stoq"):
        listed = StoqPluginManager([str(INVALID)]).list_plugins()
    assert "bad_config" not in listed
    assert "two_classes" in listed and "min_version_too_high" in listed
    assert any("bad_config.stoq: unreadable plugin file" in r.getMessage() for r in caplog.records)


def test_a_low_min_stoq_version_loads(build) -> None:
    """min_stoq_version = 2.0.0 (as the public v2 plugins say) is met by this core."""
    plugin = build(plugin_dir_list=[str(V2_PLUGINS)]).load_plugin("v2_hasher")
    assert plugin.config.get("options", "min_stoq_version") == "2.0.0"


# -- where plugin folders are searched --------------------------------------------------------


def _copy_plugin(name: str, to: Path) -> None:
    shutil.copytree(V2_PLUGINS / name, to / name)


def test_base_dir_plugins_is_searched(build, tmp_path: Path) -> None:
    """Stoq(base_dir=X) finds X/plugins, as v2 did."""
    _copy_plugin("v2_hasher", tmp_path / "plugins")
    assert "v2_hasher" in build(base_dir=str(tmp_path)).list_plugins()


def test_stoq_home_plugins_is_searched(build, isolated_home: Path) -> None:
    """$STOQ_HOME/plugins (where v2's `stoq install` put plugins) is searched."""
    _copy_plugin("v2_decorator", isolated_home / "plugins")
    assert build().load_plugin("v2_decorator").plugin_name == "v2_decorator"


def _marked(folder: Path, mark: str) -> None:
    """A copy of folder_worker whose greeting says which folder it came from."""
    _copy_plugin("folder_worker", folder)
    stoq_file = folder / "folder_worker" / "folder_worker.stoq"
    stoq_file.write_text(stoq_file.read_text().replace("hello from the .stoq file", mark))


def test_plugin_dir_list_beats_base_dir_which_beats_stoq_home(
    build, tmp_path: Path, isolated_home: Path, caplog
) -> None:
    """The implicit folders come after plugin_dir_list; shadowing is logged naming both."""
    _marked(isolated_home / "plugins", "home")
    _marked(tmp_path / "base" / "plugins", "base")
    _marked(tmp_path / "listed", "listed")

    def greeting(**kwargs: Any) -> str:
        stoq = build(always_dispatch=["folder_worker"], **kwargs)
        result: str = stoq.scan(b"x").results[0].workers[0]["folder_worker"]["greeting"]
        return result

    assert greeting() == "home"
    assert greeting(base_dir=str(tmp_path / "base")) == "base"
    assert (
        greeting(base_dir=str(tmp_path / "base"), plugin_dir_list=[str(tmp_path / "listed")])
        == "listed"
    )
    assert any(
        "shadows" in r.getMessage() and str(isolated_home / "plugins") in r.getMessage()
        for r in caplog.records
    )


def test_a_later_plugin_dir_overrides_an_earlier_one_as_in_v2(build, tmp_path: Path) -> None:
    """Two plugin_dir_list folders providing one name: the later folder's plugin is used."""
    _marked(tmp_path / "first", "first")
    _marked(tmp_path / "second", "second")
    stoq = build(
        plugin_dir_list=[str(tmp_path / "first"), str(tmp_path / "second")],
        always_dispatch=["folder_worker"],
    )
    assert stoq.scan(b"x").results[0].workers[0]["folder_worker"]["greeting"] == "second"


def test_two_copies_in_one_folder_are_an_error_naming_both(build, tmp_path: Path) -> None:
    """One folder holding the name twice is ambiguous: a load error naming both files."""
    _copy_plugin("folder_worker", tmp_path / "one" / "a")
    _copy_plugin("folder_worker", tmp_path / "one" / "b")
    [error] = (
        build(plugin_dir_list=[str(tmp_path / "one")], always_dispatch=["folder_worker"])
        .scan(b"x")
        .errors
    )
    assert "provided twice" in error.error
    assert str(tmp_path / "one" / "a") in error.error and str(tmp_path / "one" / "b") in error.error


# -- v2's Stoq and StoqPluginManager ----------------------------------------------------------


def test_stoq_is_a_v2_plugin_manager_with_list_plugins(build) -> None:
    """Stoq subclasses StoqPluginManager; list_plugins() has v2's shape for every source."""
    stoq = build(plugin_dir_list=[str(V2_PLUGINS)])
    assert isinstance(stoq, StoqPluginManager)
    listed = stoq.list_plugins()
    assert listed["v2_filestore"] == {
        "classes": ["Archiver", "Connector"],
        "version": "2.0.1",
        "description": "A v2-style archiver and connector: payloads and responses in folders",
    }
    assert listed["v2_deep_dispatcher"]["classes"] == ["DeepDispatcher"]
    assert listed["simple_worker"]["classes"] == ["Worker"]


def test_stoq_plugin_manager_alone_loads_with_options(tmp_path: Path) -> None:
    """StoqPluginManager(dirs, plugin_opts) loads a folder plugin with its options, once."""
    manager = StoqPluginManager([str(V2_PLUGINS)], {"folder_worker": {"greeting": "hi"}})
    plugin = manager.load_plugin(" folder_worker ")
    assert plugin.config.get("options", "greeting") == "hi"
    assert manager.load_plugin("folder_worker") is plugin


def test_v2_attributes_read_and_write_the_settings(build) -> None:
    """max_queue, max_recursion and max_dispatch_passes exist and steer the scan."""
    stoq = build(
        always_dispatch=["extract_worker"],
        plugin_opts={"extract_worker": {"count": 1}},
        max_queue=7,
    )
    assert (stoq.max_queue, stoq.max_recursion, stoq.max_dispatch_passes) == (7, 10, 1)
    stoq.max_recursion = 1
    response = stoq.scan(b"root")
    assert stoq.settings.max_recursion == 1
    assert len(response.results) == 2  # the root and its child; the grandchild is a limit
    assert [e.stage for e in response.errors] == ["limit"]
    assert stoq.log is logging.getLogger("stoq")


def test_run_without_a_provider_raises_stoq_exception(build) -> None:
    """v2 raised StoqException; it is also a ValueError, as before."""
    with pytest.raises(StoqException) as info:
        build().run()
    assert isinstance(info.value, ValueError)


class _ListProvider(ProviderPlugin):
    items: List[bytes] = []

    def ingest(self, queue: Queue) -> None:
        for item in self.items:
            queue.put(Payload(item))


class _ListConnector(ConnectorPlugin):
    def save(self, response: Any) -> None:
        self.saved = [*getattr(self, "saved", []), response]


def test_a_program_that_configured_instances_runs_them_in_process(build) -> None:
    """v2 programs set up instances with load_plugin() and call run(): those instances are used."""
    stoq = build(providers=["list_provider"], connectors=["list_connector"])
    stoq.plugins.build("list_provider", _ListProvider)
    stoq.plugins.build("list_connector", _ListConnector)
    provider = stoq.load_plugin("list_provider")
    provider.items = [b"one", b"two"]
    connector = stoq.load_plugin("list_connector")
    stoq.run()
    assert [r.results[0].size for r in connector.saved] == [3, 3]
    assert stoq.settings.consumers == 1


def test_scan_ratelimit_spaces_calls_as_in_v2(build) -> None:
    """scan(..., ratelimit="4/1") starts calls at least 0.25 s apart; the first never waits."""
    stoq = build(always_dispatch=["simple_worker"])
    started = time.monotonic()
    stoq.scan(b"a", ratelimit="4/1")
    first = time.monotonic() - started
    for content in (b"b", b"c"):
        stoq.scan(content, ratelimit="4/1")
    assert first < 0.25
    assert time.monotonic() - started >= 0.5


def test_a_malformed_ratelimit_is_a_value_error_naming_it(build) -> None:
    """A ratelimit that is not COUNT/SECONDS is refused before scanning."""
    with pytest.raises(ValueError, match=re.escape("ratelimit '10 per minute'")):
        build().scan(b"a", ratelimit="10 per minute")


def test_configured_instances_with_consumer_processes_are_warned_about(build, caplog) -> None:
    """With consumers set above 1, a program's load_plugin() instances are not used: a warning."""
    stoq = build(providers=["list_provider"], consumers=2)
    stoq.plugins.build("list_provider", _ListProvider)
    stoq.load_plugin("list_provider").items = []
    stoq.run()
    assert "those this program set up with load_plugin() scan nothing" in caplog.text
    assert stoq.settings.consumers == 2


def test_a_min_stoq_version_that_is_not_a_version_is_a_load_error(build, tmp_path: Path) -> None:
    """min_stoq_version must be a version; anything else is refused, naming the value."""
    _copy_plugin("folder_worker", tmp_path)
    stoq_file = tmp_path / "folder_worker" / "folder_worker.stoq"
    stoq_file.write_text(stoq_file.read_text() + "min_stoq_version = next year\n")
    with pytest.raises(
        StoqPluginLoadError, match="min_stoq_version = 'next year' is not a version"
    ):
        build(plugin_dir_list=[str(tmp_path)]).load_plugin("folder_worker")
