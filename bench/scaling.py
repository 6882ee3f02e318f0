"""Scaling: a folder of files scanned by `stoq scan -j 1` and `-j 2`, and by `stoq run` with
1 and with 2 consumer processes (the filedir provider), with the default profile.

Target: 2 processes are at least 1.8x as fast as 1 on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import report


def make_folder(root: Path, files: int, size: int) -> Path:
    folder = root / "files"
    folder.mkdir()
    for i in range(files):
        (folder / f"file-{i:05d}.bin").write_bytes(os.urandom(size))
    return folder


def timed(command: list, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per file")
    args = parser.parse_args()
    stoq = [sys.executable, "-m", "stoq"]  # the interpreter running the benchmark
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_folder(root, args.files, args.size)
        env = dict(os.environ, STOQ_HOME=str(root / "home"))
        scan = {
            jobs: timed([*stoq, "scan", "--jsonl", "-j", str(jobs), str(folder)], env)
            for jobs in (1, 2)
        }
        run = {}
        for consumers in (1, 2):
            config = root / f"run-{consumers}.toml"
            config.write_text(f"[core]\nconsumers = {consumers}\n")
            run[consumers] = timed(
                [
                    *stoq,
                    "run",
                    "--config",
                    str(config),
                    "-P",
                    "filedir",
                    "--plugin-opts",
                    f"filedir:source_dir={folder}",
                    "-C",
                    "stdout",
                ],
                env,
            )
    scan_ratio, run_ratio = scan[1] / scan[2], run[1] / run[2]
    numbers = {
        "files": args.files,
        "scan_j1_s": round(scan[1], 2),
        "scan_j2_s": round(scan[2], 2),
        "scan_speedup": round(scan_ratio, 2),
        "run_c1_s": round(run[1], 2),
        "run_c2_s": round(run[2], 2),
        "run_speedup": round(run_ratio, 2),
    }
    worst = min(scan_ratio, run_ratio)
    report("scaling", numbers, ratio=worst, target=">= 1.8 (speed-up on 2 cores)", met=worst >= 1.8)


if __name__ == "__main__":
    main()
