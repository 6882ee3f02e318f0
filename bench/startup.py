"""Start-up: `stoq --version`, `stoq scan` of one small file with the default profile, and
`stoq list`, each a new process, against `python -c pass`; all alternate, round by round.

Targets (CPU time, median): `--version` at most 3x and `scan` at most 6x `python -c pass`;
`list` is reported.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import STOQ, bench_env, describe, interleave, median, report, run_command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.txt"
        sample.write_text("hello stoq\n")
        env = bench_env(Path(tmp) / "home")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "stoq --version": [*STOQ, "--version"],
            "stoq scan": [*STOQ, "scan", "--jsonl", str(sample)],
            "stoq list": [*STOQ, "list"],
        }
        samples = interleave(
            {name: (lambda c=command: run_command(c, env)) for name, command in commands.items()},
            args.rounds,
        )
    floor = median(samples["python -c pass"])
    for name, target in (("stoq --version", 3.0), ("stoq scan", 6.0), ("stoq list", None)):
        ratio = median(samples[name]) / floor
        report(
            "startup",
            f"{name}, CPU time vs python -c pass",
            ratio,
            f"<= {target:g}" if target else "reported",
            None if target is None else ratio <= target,
            describe({name: samples[name], "python -c pass": samples["python -c pass"]}, 1e3, "ms"),
        )


if __name__ == "__main__":
    main()
