"""Folders of real files for the filedir tests, built fresh for each test."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest


def make_zip() -> bytes:
    """A small zip archive with two members, made with zipfile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", "stoQ filedir test\n")
        archive.writestr("docs/notes.txt", "nested member\n" * 50)
    return buffer.getvalue()


@pytest.fixture
def zip_bytes() -> bytes:
    """A real zip archive (see ``make_zip``)."""
    return make_zip()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """``a.txt``, ``b.zip`` and ``sub/c.txt`` in a fresh folder."""
    root = tmp_path / "source"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "b.zip").write_bytes(make_zip())
    (root / "sub" / "c.txt").write_bytes(b"charlie\n")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the source, holding a file the plugin must never read or write."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"not for scanning\n")
    return folder
