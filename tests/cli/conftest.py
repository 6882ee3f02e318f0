"""Fixtures that drive the real ``stoq`` command in a subprocess.

Every test gets its own ``STOQ_HOME`` (a folder that does not exist until a test writes a
config file into it), so no user configuration leaks in. The command is run as
``python -m stoq`` with the interpreter running the tests, so it sees the same installs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import pytest

STOQ = [sys.executable, "-m", "stoq"]


@pytest.fixture
def stoq_home(tmp_path: Path) -> Path:
    """A STOQ_HOME that does not exist yet (which must not be an error)."""
    return tmp_path / "stoq-home"


@pytest.fixture
def stoq_env(stoq_home: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env["STOQ_HOME"] = str(stoq_home)
    env.pop("COLUMNS", None)
    return env


@pytest.fixture
def run_stoq(
    stoq_env: Dict[str, str], tmp_path: Path
) -> Callable[..., subprocess.CompletedProcess]:
    """``run_stoq("scan", path, input=b"...")`` → CompletedProcess with text stdout/stderr."""

    def run(
        *args: Any, input: Optional[bytes] = None, timeout: float = 120, cwd: Optional[Path] = None
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            STOQ + [str(a) for a in args],
            input=input if input is not None else b"",
            capture_output=True,
            env=stoq_env,
            cwd=cwd or tmp_path,
            timeout=timeout,
        )
        return subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
        )

    return run


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A folder of real files: text, a zip made with zipfile, binary bytes, and a subfolder."""
    import zipfile

    folder = tmp_path / "samples"
    (folder / "nested" / "deeper").mkdir(parents=True)
    (folder / "a.txt").write_text("first line\nsecond line\nthird line\n")
    (folder / "b.bin").write_bytes(bytes(range(256)) * 4)
    with zipfile.ZipFile(folder / "c.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inside.txt", "zipped text\n" * 50)
    (folder / "nested" / "d.txt").write_text("nested file\n")
    (folder / "nested" / "deeper" / "e.txt").write_text("deepest file\nwith two lines\n")
    return folder
