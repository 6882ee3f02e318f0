"""Scaling: a folder of files scanned with the default profile by `stoq scan -j 1` and `-j 2`,
and by `stoq run` (filedir provider, stdout connector) with 1 and 2 consumer processes, against
a bare multiprocessing loop with 1 and 2 processes doing the same analysis: the default
profile's plugins called directly, without the engine (bench/_mp_floor.py). All six commands
alternate, round by round; each is measured with ``wait4`` (CPU of the process and its
consumers). The CPU of each stoQ command against the bare loop with as many processes is
reported too: what the engine costs on real per-file work.

Speed-up is a wall-time matter: target, stoQ's speed-up from 1 to 2 processes is at least 0.97
of the bare loop's. The CPU that a second process adds (CPU time with 2 / with 1) is reported
beside it, for stoQ and for the bare loop: on a shared machine it is the steadier measure of
what the second process costs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _common import STOQ, bench_env, describe, interleave, median, report, run_command

HERE = Path(__file__).resolve().parent


def make_folder(root: Path, files: int, size: int) -> Path:
    folder = root / "files"
    folder.mkdir()
    for i in range(files):
        (folder / f"file-{i:05d}.bin").write_bytes(os.urandom(size))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per file")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_folder(root, args.files, args.size)
        env = bench_env(root / "home")
        commands = {}
        for n in (1, 2):
            config = root / f"run-{n}.toml"
            config.write_text(f"[core]\nconsumers = {n}\n")
            commands[f"bare {n}"] = [
                sys.executable,
                str(HERE / "_mp_floor.py"),
                str(folder),
                str(n),
            ]
            commands[f"scan -j {n}"] = [*STOQ, "scan", "--jsonl", "-j", str(n), str(folder)]
            commands[f"run {n}"] = [
                *STOQ,
                "run",
                "--config",
                str(config),
                "-P",
                "filedir",
                "--plugin-opts",
                f"filedir:source_dir={folder}",
                "-C",
                "stdout",
            ]
        samples = interleave(
            {name: (lambda c=command: run_command(c, env)) for name, command in commands.items()},
            args.rounds,
        )

    def speedup(one: str, two: str) -> float:
        return median(samples[one], "wall") / median(samples[two], "wall")

    def cpu_added(one: str, two: str) -> float:
        return median(samples[two]) / median(samples[one])

    bare = speedup("bare 1", "bare 2")
    for label, one, two in (
        ("scan -j 2", "scan -j 1", "scan -j 2"),
        ("run --consumers 2", "run 1", "run 2"),
    ):
        ratio = speedup(one, two) / bare
        report(
            "scaling",
            f"{label}, speed-up vs the bare multiprocessing loop's",
            ratio,
            ">= 0.97",
            ratio >= 0.97,
            {
                "files": args.files,
                "stoq speed-up (wall)": round(speedup(one, two), 2),
                "bare speed-up (wall)": round(bare, 2),
                "stoq CPU with 2 / with 1": round(cpu_added(one, two), 3),
                "bare CPU with 2 / with 1": round(cpu_added("bare 1", "bare 2"), 3),
                "stoq CPU / bare CPU, 1 and 2 processes": (
                    round(median(samples[one]) / median(samples["bare 1"]), 2),
                    round(median(samples[two]) / median(samples["bare 2"]), 2),
                ),
                **describe({k: samples[k] for k in (one, two, "bare 1", "bare 2")}),
            },
        )


if __name__ == "__main__":
    main()
