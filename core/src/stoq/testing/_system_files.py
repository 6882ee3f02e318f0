"""Real, harmless binaries every test machine already has: no sample needs committing.

Every CPython installation carries Windows PE launchers (pip's and setuptools' ``*.exe``, or
inside the pip wheel ``ensurepip`` bundles), and every Linux system has ELF executables.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import site
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import List

__all__ = ["elf_binary", "windows_pe"]

#: Windows launcher executables that pip and setuptools ship.
_LAUNCHERS = ("pip/_vendor/distlib/*.exe", "setuptools/*.exe")


def _site_dirs() -> List[str]:
    dirs = [
        *site.getsitepackages(),
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths(vars={"base": sys.base_prefix})["purelib"],
    ]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


@functools.cache
def windows_pe() -> bytes:
    """A real Windows PE executable (a pip/setuptools launcher); LookupError if none exists."""
    for directory in _site_dirs():
        for pattern in _LAUNCHERS:
            found = sorted(glob.glob(os.path.join(directory, pattern)))
            if found:
                return Path(found[0]).read_bytes()
    bundled = Path(sysconfig.get_paths()["stdlib"], "ensurepip", "_bundled")
    for wheel in sorted(bundled.glob("pip-*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            members = sorted(n for n in archive.namelist() if n.endswith(".exe"))
            if members:
                return archive.read(members[0])
    raise LookupError("no pip/setuptools Windows launcher found in this Python installation")


@functools.cache
def elf_binary() -> bytes:
    """A real ELF executable of this system (``ls``); LookupError if there is none."""
    path = shutil.which("ls") or "/bin/ls"
    content = Path(path).resolve().read_bytes() if os.path.exists(path) else b""
    if not content.startswith(b"\x7fELF"):
        raise LookupError(f"{path} is not an ELF executable on this system")
    return content
