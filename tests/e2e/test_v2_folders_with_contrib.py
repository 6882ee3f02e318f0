"""v2 folder plugins of every role beside the installed contrib plugins, in one Stoq (§4).

A real zip (made here with zipfile) goes through contrib ``decompress`` and ``hash`` and the
v2-style folder plugins of ``core/tests/v2-plugins``; the response, its subresponses and its
v2 split must hold both kinds of results.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from stoq.testing import make_stoq

V2_PLUGINS = Path(__file__).resolve().parents[2] / "core" / "tests" / "v2-plugins"
MEMBERS = {"first.txt": b"one|two", "second.txt": b"three"}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in MEMBERS.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_folder_plugins_and_contrib_plugins_share_requests(tmp_path: Path) -> None:
    """decompress extracts, v2_hasher splits, both hash; reconstruct and split see it all."""
    # The tree: the zip → first.txt (→ "one", "two") and second.txt.
    archive_dir, results_dir = tmp_path / "archive", tmp_path / "results"
    archive_dir.mkdir()
    results_dir.mkdir()
    content = _zip()
    stoq = make_stoq(
        plugin_dir_list=[str(V2_PLUGINS)],
        plugin_opts={
            "v2_filestore": {"archive_dir": str(archive_dir), "results_dir": str(results_dir)}
        },
        always_dispatch=["hash"],
        dispatchers=["v2_dispatcher"],
        deep_dispatchers=["v2_deep_dispatcher"],
        dest_archivers=["v2_filestore"],
        connectors=["v2_filestore"],
        decorators=["v2_decorator"],
    )
    try:
        response = stoq.scan(content, add_start_dispatch=["decompress"])
        subs = list(stoq.reconstruct_all_subresponses(response))
    finally:
        stoq.close()
    assert response.errors == []
    by_sha = {r.sha256: r for r in response.results}
    root = response.results[0]
    assert root.workers[0]["hash"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert root.workers[0]["v2_hasher"]["md5"] == hashlib.md5(content).hexdigest()
    first = by_sha[hashlib.sha256(MEMBERS["first.txt"]).hexdigest()]
    assert first.extracted_by == "decompress" and first.extracted_from == root.payload_id
    assert first.workers[0]["hash"]["md5"] == first.workers[0]["v2_hasher"]["md5"]
    parts = [r for r in response.results if r.extracted_by == "v2_hasher"]
    assert sorted(p.size for p in parts) == [3, 3]
    assert len(response.results) == 5  # zip, two members, two parts of first.txt
    assert response.decorators["v2_decorator"]["payloads"] == 5
    assert len(list(archive_dir.iterdir())) == 5 and len(list(results_dir.iterdir())) == 1
    assert [len(s.results) for s in subs] == [5, 3, 1, 1, 1]
    assert subs[1].decorators["v2_decorator"]["payloads"] == 3
    split = response.split()
    assert len(split) == sum(len(w) for r in response.results for w in r.workers)
    assert {next(iter(p["results"][0]["workers"][0])) for p in split} >= {
        "decompress",
        "hash",
        "v2_hasher",
        "folder_worker",
    }
