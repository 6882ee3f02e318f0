"""The progress bar: drawn on a terminal's stderr when scanning several files, never in a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import threading
from pathlib import Path
from typing import Dict, List

from cli_helpers import json_lines
from conftest import STOQ

SCAN = ["scan", "--profile", "none", "-a", "simple_worker", "-r"]


def _read_all(fd: int, into: List[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side of the pty is closed
            return
        if not chunk:
            return
        into.append(chunk)


def _scan_with_stderr_on_a_terminal(args: List[str], env: Dict[str, str]) -> tuple:
    master, slave = pty.openpty()
    chunks: List[bytes] = []
    reader = threading.Thread(target=_read_all, args=(master, chunks), daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            STOQ + args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=env,
            timeout=120,
        )
    finally:
        os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    return proc, b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal(samples: Path, stoq_env):
    proc, terminal = _scan_with_stderr_on_a_terminal(SCAN + [str(samples)], stoq_env)
    assert proc.returncode == 0
    assert "5/5 files 100%" in terminal
    assert "\r" in terminal and "[" + "#" * 10 in terminal
    # the bar stays off stdout, which still carries one JSON line per file
    assert len(json_lines(proc.stdout.decode())) == 5
    assert "files" not in proc.stdout.decode()


def test_no_progress_bar_in_a_pipe(run_stoq, samples: Path):
    result = run_stoq(*SCAN, samples)
    assert result.returncode == 0
    assert "files" not in result.stderr and "\r" not in result.stderr and "#" not in result.stderr


def test_no_progress_flag_turns_it_off_on_a_terminal(samples: Path, stoq_env):
    proc, terminal = _scan_with_stderr_on_a_terminal(
        SCAN + ["--no-progress", str(samples)], stoq_env
    )
    assert proc.returncode == 0
    assert "files" not in terminal and "#" not in terminal


def test_no_progress_bar_for_a_single_file(samples: Path, stoq_env):
    proc, terminal = _scan_with_stderr_on_a_terminal(SCAN + [str(samples / "a.txt")], stoq_env)
    assert proc.returncode == 0
    assert "files" not in terminal
