"""Memory: peak RSS of `stoq scan` on one 1 GiB file with the default profile.

Target: peak RSS at most 1.3x the file size.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    stoq = [sys.executable, "-m", "stoq"]  # the interpreter running the benchmark
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.bin"
        with path.open("wb") as handle:
            block = os.urandom(1024 * 1024)
            for _ in range(args.size_mib):
                handle.write(block)
        env = dict(os.environ, STOQ_HOME=str(Path(tmp) / "home"))
        completed = subprocess.run(
            [*stoq, "scan", "--jsonl", str(path)], env=env, stdout=subprocess.PIPE, check=False
        )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    ratio = peak / size
    report(
        "memory",
        {"file_bytes": size, "peak_rss_bytes": peak, "exit_code": completed.returncode},
        ratio=ratio,
        target="<= 1.3 (peak RSS / file size)",
        met=ratio <= 1.3,
    )


if __name__ == "__main__":
    main()
