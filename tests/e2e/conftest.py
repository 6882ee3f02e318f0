"""Shared inputs for the end-to-end tests: real files the system ships."""

from __future__ import annotations

import glob
import os
import site
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import List, Optional

import pytest

#: Windows launcher executables that pip and setuptools ship (real, harmless PE files).
LAUNCHER_PATTERNS = ("pip/_vendor/distlib/*.exe", "setuptools/*.exe")


def _site_dirs() -> List[str]:
    dirs = [
        *site.getsitepackages(),
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths(vars={"base": sys.base_prefix})["purelib"],
    ]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def find_windows_pe() -> Optional[bytes]:
    """A launcher from an installed pip/setuptools, or from the pip wheel ensurepip bundles."""
    for directory in _site_dirs():
        for pattern in LAUNCHER_PATTERNS:
            found = sorted(glob.glob(os.path.join(directory, pattern)))
            if found:
                return Path(found[0]).read_bytes()
    bundled = Path(sysconfig.get_paths()["stdlib"], "ensurepip", "_bundled")
    for wheel in sorted(bundled.glob("pip-*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            members = sorted(n for n in archive.namelist() if n.endswith(".exe"))
            if members:
                return archive.read(members[0])
    return None


@pytest.fixture(scope="session")
def windows_pe() -> bytes:
    """A real Windows PE file that every Python installation carries somewhere."""
    content = find_windows_pe()
    if content is None:  # pragma: no cover - every CPython install ships one
        pytest.fail("no pip/setuptools Windows launcher found on this machine")
    return content
