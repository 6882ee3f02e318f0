"""filedir in all three roles at once, through the engine, plus the conformance suite."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from queue import Queue
from typing import Any, Dict, List

import pytest

from stoq import Payload, RequestMeta
from stoq.plugins import ProviderPlugin
from stoq.testing import ArchiverConformance, ConnectorConformance, ProviderConformance, make_stoq
from stoq_plugin_filedir.plugin import FiledirPlugin

SYSTEM_BINARY = Path(shutil.which("ls") or "/bin/ls").resolve()


def results_in(folder: Path) -> List[dict]:
    """Every saved response, ordered by the path of the file it came from."""
    responses = [json.loads(p.read_text("utf-8")) for p in folder.glob("*.json")]
    return sorted(responses, key=lambda r: r["results"][0]["payload_meta"]["extra_data"]["path"])


def test_run_mode_ingests_archives_and_saves_every_file(tmp_path: Path, source: Path) -> None:
    """One instance serves as provider, archiver and connector for a whole folder."""
    opts = {
        "source_dir": str(source),
        "recursive": True,
        "archive_dir": str(tmp_path / "archive"),
        "results_dir": str(tmp_path / "results"),
    }
    with make_stoq(
        providers=["filedir"],
        dest_archivers=["filedir"],
        connectors=["filedir"],
        consumers=1,
        plugin_opts={"filedir": opts},
    ) as stoq:
        stoq.run()
        assert stoq.connector_failures == 0
    files = [source / "a.txt", source / "b.zip", source / "sub" / "c.txt"]
    responses = results_in(tmp_path / "results")
    assert [r["results"][0]["payload_meta"]["extra_data"]["path"] for r in responses] == [
        str(f) for f in files
    ]
    for path, response in zip(files, responses):
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        stored = tmp_path / "archive" / sha256[:2] / sha256[2:4] / sha256
        assert stored.read_bytes() == path.read_bytes()
        assert response["results"][0]["archivers"]["filedir"] == {
            "sha256": sha256,
            "path": str(stored),
        }


class ShaProvider(ProviderPlugin):
    """Queues ``{"filedir": sha256}`` tasks, as a queue-based provider would."""

    def ingest(self, queue: Queue) -> None:
        for sha256 in self.plugin_opts["tasks"]:
            queue.put({"filedir": sha256})


def test_run_mode_fetches_archived_payloads_through_get(tmp_path: Path, zip_bytes: bytes) -> None:
    """As a source archiver, filedir turns tasks into payloads; a bad task is reported, not lost."""
    content = zip_bytes
    sha256 = hashlib.sha256(content).hexdigest()
    opts: Dict[str, Any] = {
        "archive_dir": str(tmp_path / "archive"),
        "results_dir": str(tmp_path / "results"),
    }
    with make_stoq(plugin_opts={"filedir": opts}) as stoq:
        stoq.load_plugin("filedir").archive(Payload(content), RequestMeta())
    with make_stoq(
        plugins={"sha_provider": ShaProvider},
        providers=["sha_provider"],
        source_archivers=["filedir"],
        connectors=["filedir"],
        consumers=1,
        plugin_opts={"filedir": opts, "sha_provider": {"tasks": [sha256, "../../etc/passwd"]}},
    ) as stoq:
        stoq.run()
    responses = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("*.json")]
    fetched = [r for r in responses if r["results"]]
    refused = [r for r in responses if not r["results"]]
    assert [r["results"][0]["sha256"] for r in fetched] == [sha256]
    assert len(refused) == 1
    assert "expects a 64-character hex SHA-256" in refused[0]["errors"][0]["error"]


def test_plugin_class_is_the_entry_point() -> None:
    """The installed entry point ``filedir`` loads this class, serving three roles."""
    with make_stoq() as stoq:
        assert isinstance(stoq.load_plugin("filedir"), FiledirPlugin)


class TestFiledirConformance(ProviderConformance, ArchiverConformance, ConnectorConformance):
    plugin_name = "filedir"
    samples = (SYSTEM_BINARY,)

    @pytest.fixture(autouse=True)
    def _folders(self, tmp_path_factory: pytest.TempPathFactory, zip_bytes: bytes) -> None:
        """Folders shared by the class (its Stoq lives as long as the class), with real files."""
        root = tmp_path_factory.getbasetemp() / "filedir-conformance"
        source = root / "source"
        if not source.exists():
            (source / "nested").mkdir(parents=True)
            (source / "archive.zip").write_bytes(zip_bytes)
            shutil.copyfile(SYSTEM_BINARY, source / "nested" / SYSTEM_BINARY.name)
        self.plugin_opts = {
            "source_dir": str(source),
            "recursive": True,
            "archive_dir": str(root / "archive"),
            "results_dir": str(root / "results"),
        }
