"""SPEC §6: entry points, v2 plugin folders, conflicts, core version."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stoq import StoqDuplicatePlugin, StoqPluginLoadError, StoqPluginNotFound
from stoq.sources import discover

V2_PLUGIN_DIR = Path(__file__).parent / "v2-plugins"


def _fake_distribution(root: Path, name: str, entry_points: str, requires: str = "") -> None:
    """Write the metadata an installed distribution has (dist-info) into ``root``."""
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nSummary: test\n"
    if requires:
        metadata += f"Requires-Dist: {requires}\n"
    (info / "METADATA").write_text(metadata)
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_discovery_reads_metadata_without_importing() -> None:
    """discover() lists entry points and folder plugins with versions; nothing is imported."""
    code = (
        "import sys; from stoq.sources import discover; "
        f"found = discover([{str(V2_PLUGIN_DIR)!r}]); "
        "print(sorted(found)[:3], found['folder_worker'][0].version, found['simple_worker'][0].distribution, "
        "[m for m in sys.modules if m.startswith('stoq_test_plugins')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "2.0.0 stoq-test-plugins []" in out.stdout


def test_only_named_plugins_are_imported() -> None:
    """A scan imports the plugins it names and no others."""
    code = (
        "import sys; from stoq import Stoq; "
        "Stoq(always_dispatch=['simple_worker']).scan(b'x'); "
        "print(sorted(m for m in sys.modules if m.startswith('stoq_test_plugins.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['stoq_test_plugins.workers']"


def test_v2_plugin_folder_loads_with_its_stoq_file(build) -> None:
    """A v2 folder plugin loads; its .stoq [options] and [Documentation] reach it."""
    stoq = build(plugin_dir_list=[str(V2_PLUGIN_DIR)], always_dispatch=["folder_worker"])
    response = stoq.scan(b"abc")
    assert response.errors == []
    assert response.results[0].workers[0]["folder_worker"] == {
        "greeting": "hello from the .stoq file",
        "version": "2.0.0",
    }


def test_entry_point_plugin_gets_its_distribution_metadata(build) -> None:
    """Documentation fields come from the distribution's metadata."""
    plugin = build().load_plugin("simple_worker")
    assert plugin.plugin_name == "simple_worker"
    assert plugin.__version__ == "0.1.0"
    assert plugin.__description__.startswith("Small plugins")
    assert plugin.log.name == "stoq.simple_worker"


def test_a_plugin_folder_wins_over_an_installed_name_with_a_warning(
    build, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder plugin named like an installed one is used; the warning names both sources."""
    folder = tmp_path / "dup"
    folder.mkdir()
    (folder / "simple_worker.stoq").write_text(
        "[Core]\nName = simple_worker\nModule = simple_worker\n"
    )
    (folder / "simple_worker.py").write_text(
        "from stoq.data_classes import WorkerResponse\n"
        "from stoq.plugins import WorkerPlugin\n\n\n"
        "class FolderSimple(WorkerPlugin):\n"
        "    def scan(self, payload, request_meta):\n"
        "        return WorkerResponse({'from': 'folder'})\n"
    )
    stoq = build(plugin_dir_list=[str(tmp_path)], always_dispatch=["simple_worker"])
    response = stoq.scan(b"x")
    assert response.errors == []
    assert response.results[0].workers[0]["simple_worker"] == {"from": "folder"}
    [warning] = [r.getMessage() for r in caplog.records if "shadows" in r.getMessage()]
    assert str(folder / "simple_worker.stoq") in warning
    assert "stoq_test_plugins.workers:SimpleWorker" in warning and "stoq-test-plugins" in warning


def test_a_name_in_two_distributions_is_an_error(
    build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two installed distributions registering one name are both named."""
    _fake_distribution(
        tmp_path, "other-dist", "[stoq.plugins]\nsimple_worker = other_module:Other\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StoqDuplicatePlugin, match="other-dist") as info:
        build().load_plugin("simple_worker")
    assert "stoq-test-plugins" in str(info.value) and "other_module:Other" in str(info.value)


def test_plugin_requiring_a_newer_core_fails_clearly(
    build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin whose distribution needs a newer stoq-framework is refused before import."""
    _fake_distribution(
        tmp_path,
        "future-plugin",
        "[stoq.plugins]\nfuture_worker = stoq_test_plugins.workers:SimpleWorker\n",
        requires="stoq-framework>=99",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    stoq = build(always_dispatch=["future_worker"])
    with pytest.raises(StoqPluginLoadError, match=r"requires stoq-framework>=99, but this core is"):
        stoq.load_plugin("future_worker")
    [error] = stoq.scan(b"x").errors
    assert error.stage == "load" and "pip install -U stoq-framework" in error.error


def test_unknown_name_raises_not_found_with_suggestions(build) -> None:
    """load_plugin raises StoqPluginNotFound (a LookupError) with close matches."""
    with pytest.raises(StoqPluginNotFound) as info:
        build().load_plugin("simple_wroker")
    assert isinstance(info.value, LookupError)
    assert "simple_worker" in info.value.close_matches


def test_broken_plugin_does_not_break_discovery_or_others(build) -> None:
    """An unimportable plugin is listed, fails alone at load, and others load fine."""
    assert "broken_import" in discover()
    stoq = build()
    with pytest.raises(StoqPluginLoadError, match="ModuleNotFoundError"):
        stoq.load_plugin("broken_import")
    assert stoq.load_plugin("simple_worker") is stoq.load_plugin("simple_worker")


def test_preloading_imports_the_plugin_and_runs_its_preload_hook(build, monkeypatch) -> None:
    """Before consumers fork, each configured plugin's class is imported and ``preload()``
    run (heavy imports shared with the consumers); no instance is built."""
    from stoq_test_plugins.workers import SimpleWorker

    calls = []
    monkeypatch.setattr(SimpleWorker, "preload", classmethod(lambda cls: calls.append(cls)))
    stoq = build(always_dispatch=["simple_worker"])
    stoq.preload_plugins()
    assert calls == [SimpleWorker]
    assert "simple_worker" not in stoq.plugins.loaded
