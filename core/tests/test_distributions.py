"""Entry points read from the metadata files (stoq.distributions) as importlib.metadata reads them.

Each test builds real metadata folders on disk (or takes this environment's) and compares the
answers with importlib.metadata's for the same ``sys.path``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import pytest

from stoq.distributions import entry_points, parse_headers

if sys.version_info >= (3, 10):
    import importlib.metadata as reference
else:  # pragma: no cover - exercised on 3.9 only
    import importlib_metadata as reference

GROUPS = ("stoq.plugins", "console_scripts", "pytest11")


def expected(group: str, path: Sequence[str], monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """importlib.metadata's entry points of ``group`` with ``sys.path`` set to ``path``."""
    with monkeypatch.context() as patch:
        patch.setattr(sys, "path", list(path))
        importlib.invalidate_caches()
        found = reference.entry_points(group=group)
        return [(ep.name, ep.value, ep.dist.metadata["Name"]) for ep in found]


def ours(group: str, path: Sequence[str]) -> List[Tuple[str, str, Any]]:
    return [(ep.name, ep.value, ep.dist.get("Name")) for ep in entry_points(group, path)]


def dist_info(root: Path, folder: str, name: str, entries: str, extra: str = "") -> Path:
    """A metadata folder ``root/folder`` for distribution ``name`` with entry_points.txt."""
    info = root / folder
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{extra}")
    (info / "entry_points.txt").write_text(entries)
    return info


def test_this_environment_gives_importlib_metadata_answers(monkeypatch) -> None:
    """Every group's entry points and every header of their distributions, on the real
    ``sys.path`` of the test run (the core, the test plugins, pytest and its plugins)."""
    for group in GROUPS:
        assert ours(group, sys.path) == expected(group, sys.path, monkeypatch), group
    checked = 0
    for ep in entry_points("console_scripts", sys.path):
        with monkeypatch.context() as patch:
            patch.setattr(sys, "path", list(sys.path))
            meta = reference.distribution(ep.dist.get("Name") or "").metadata
        for key in ("Name", "Version", "Summary", "Author", "Author-email", "Home-page"):
            assert ep.dist.get(key) == meta.get(key), (ep.dist.get("Name"), key)
        assert ep.dist.get_all("Requires-Dist") == (meta.get_all("Requires-Dist") or [])
        checked += 1
    assert checked >= 3


def test_the_first_distribution_of_a_name_on_the_path_wins(tmp_path: Path, monkeypatch) -> None:
    """A name installed in two path entries is the first one's, whatever the spelling."""
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(first, "My.Plugin-2.0.dist-info", "My.Plugin", "[stoq.plugins]\nnew = a:New\n")
    dist_info(second, "my_plugin-1.0.dist-info", "my_plugin", "[stoq.plugins]\nold = a:Old\n")
    dist_info(second, "other-1.0.dist-info", "other", "[stoq.plugins]\nother = b:Other\n")
    path = [str(first), str(second)]
    assert ours("stoq.plugins", path) == expected("stoq.plugins", path, monkeypatch)
    assert [name for name, _, _ in ours("stoq.plugins", path)] == ["new", "other"]


def test_entry_points_txt_syntax(tmp_path: Path, monkeypatch) -> None:
    """Comments, blank lines, spaces, extras, other groups and lines without '='."""
    entries = (
        "# a comment\n[console_scripts]\nx = m:main\n\n[stoq.plugins]\n"
        "  spaced   =   pkg.mod : Klass.inner   [extra1, extra2]\n"
        "# skipped = no:No\nplain=pkg.mod\n[other]\ny = m:y\n"
    )
    dist_info(tmp_path, "syntax-1.0.dist-info", "syntax", entries)
    path = [str(tmp_path)]
    assert ours("stoq.plugins", path) == expected("stoq.plugins", path, monkeypatch)
    assert [(n, v) for n, v, _ in ours("stoq.plugins", path)] == [
        ("spaced", "pkg.mod : Klass.inner   [extra1, extra2]"),
        ("plain", "pkg.mod"),
    ]


def test_egg_info_folders_and_egg_directories(tmp_path: Path, monkeypatch) -> None:
    """``*.egg-info`` folders (PKG-INFO, not METADATA) and an ``.egg``'s EGG-INFO are found."""
    info = tmp_path / "site" / "legacy-0.1-py3.11.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[stoq.plugins]\nlegacy = legacy:Plugin\n")
    egg = tmp_path / "Eggy-3.0-py3.11.egg" / "EGG-INFO"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: Eggy\nVersion: 3.0\n")
    (egg / "entry_points.txt").write_text("[stoq.plugins]\neggy = eggy:Plugin\n")
    path = [str(tmp_path / "site"), str(egg.parent)]
    assert ours("stoq.plugins", path) == expected("stoq.plugins", path, monkeypatch)
    [legacy, eggy] = entry_points("stoq.plugins", path)
    assert (legacy.dist.get("Version"), eggy.dist.get("Version")) == ("0.1", "3.0")


def test_a_zip_file_on_the_path(tmp_path: Path, monkeypatch) -> None:
    """Distributions inside a zip on ``sys.path`` (a zipapp's dependencies) are found."""
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zipped-1.0.dist-info/METADATA", "Name: zipped\nVersion: 1.0\n")
        bundle.writestr("zipped-1.0.dist-info/entry_points.txt", "[stoq.plugins]\nz = zp:Z\n")
        bundle.writestr("zp.py", "Z = 1\n")
    path = [str(archive)]
    assert ours("stoq.plugins", path) == expected("stoq.plugins", path, monkeypatch)
    assert ours("stoq.plugins", path) == [("z", "zp:Z", "zipped")]


def test_missing_and_broken_entries_are_skipped(tmp_path: Path, monkeypatch) -> None:
    """Entries that do not exist, files that are not zips, folders without entry points."""
    (tmp_path / "not-a-zip.zip").write_bytes(b"nothing")
    (tmp_path / "site" / "bare-1.0.dist-info").mkdir(parents=True)
    path = [str(tmp_path / "absent"), str(tmp_path / "not-a-zip.zip"), str(tmp_path / "site")]
    assert ours("stoq.plugins", path) == expected("stoq.plugins", path, monkeypatch) == []


def test_headers_are_parsed_as_the_email_package_parses_them() -> None:
    """Repeated headers, continuation lines, case, the body after a blank line."""
    import email

    text = (
        "Metadata-Version: 2.1\nName: demo\nSummary:   spaced out  \nLicense: first line\n"
        "        second line\n        third\nrequires-dist: a>=1\nRequires-Dist: b; extra == 'x'\n"
        "Author-email: A <a@example.org>\n\nName: not-a-header (the description)\n"
    )
    message = email.message_from_string(text)
    headers = parse_headers(text)
    for key in ("Name", "Summary", "License", "Author-email", "Version"):
        assert (headers.get(key.lower()) or [None])[0] == message.get(key), key
    assert headers["requires-dist"] == message.get_all("Requires-Dist")


def test_discovery_imports_neither_importlib_metadata_nor_email() -> None:
    """What ``stoq scan`` pays for at start: neither module is imported to find plugins."""
    code = (
        "import sys; from stoq.sources import discover; found = discover();"
        "print(len(found) > 0, 'importlib.metadata' in sys.modules, 'email' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "False"]


def test_metadata_is_read_only_for_the_plugins_used(tmp_path: Path) -> None:
    """Discovery reads entry_points.txt; a distribution's METADATA when a field is asked (a
    METADATA rewritten after discovery is what both distributions then answer)."""
    for name in ("one", "two"):
        dist_info(tmp_path, f"{name}-1.0.dist-info", name, f"[stoq.plugins]\n{name} = m:C\n")
    found = {ep.name: ep for ep in entry_points("stoq.plugins", [str(tmp_path)])}
    one, two = found["one"], found["two"]  # in the folder's listing order, which may vary
    for name in ("one", "two"):
        (tmp_path / f"{name}-1.0.dist-info" / "METADATA").write_text(f"Name: {name}-later\n")
    assert (one.dist.get("Name"), two.dist.get("Name")) == ("one-later", "two-later")
    (tmp_path / "one-1.0.dist-info" / "METADATA").write_text("Name: third\n")
    assert one.dist.get("Name") == "one-later"  # read once
