"""Start-up: wall time of `stoq scan` on one small file with every contrib plugin installed
(default profile), and of `stoq list`, with the share of that time spent importing.

Reported, not targeted: the numbers show where start-up time goes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import report


def wall(command: list, env: dict, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        best = min(best, time.perf_counter() - started)
    return best


def import_seconds(args: list, env: dict) -> float:
    """Sum of top-level import times reported by -X importtime (microseconds, cumulative)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stoq", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    total = 0
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(2)) == 1:  # top-level imports only
            total += int(match.group(1))
    return total / 1e6


def main() -> None:
    stoq = [sys.executable, "-m", "stoq"]  # the interpreter running the benchmark
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.txt"
        sample.write_text("hello stoq\n")
        env = dict(os.environ, STOQ_HOME=str(Path(tmp) / "home"))
        scan = wall([*stoq, "scan", "--jsonl", str(sample)], env)
        listing = wall([*stoq, "list"], env)
        scan_imports = import_seconds(["scan", "--jsonl", str(sample)], env)
        list_imports = import_seconds(["list"], env)
    numbers = {
        "scan_s": round(scan, 3),
        "scan_import_share": round(scan_imports / scan, 2),
        "list_s": round(listing, 3),
        "list_import_share": round(list_imports / listing, 2),
    }
    report("startup", numbers, ratio=scan, target="reported (seconds for stoq scan)", met=True)


if __name__ == "__main__":
    main()
