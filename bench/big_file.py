"""One big file (1 GiB of random bytes) scanned by `stoq scan` with the default profile, versus
a process that reads it and hashes it alone with the hash plugin's default algorithms (each
digest once, hashlib's named constructors). Both are separate processes measured with
``wait4``, alternating; the peak RSS of the scan is compared with the file's size.

Targets: stoQ's CPU time at most 2x the hashing's; peak RSS at most 1.1x the file size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _common import STOQ, bench_env, describe, interleave, median, report, run_command

HASH_ALONE = """
import hashlib, sys
content = open(sys.argv[1], "rb").read()
for make in (hashlib.md5, hashlib.sha1, hashlib.sha256, hashlib.sha512):
    make(content).hexdigest()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.bin"
        with path.open("wb") as handle:
            for _ in range(args.size_mib):
                handle.write(os.urandom(1024 * 1024))
        home = Path(tmp) / "home"
        home.mkdir()
        # A loaded machine must not turn the scan into a deadline error: same work, no limit;
        # and the CLI reads at most max_payload_size (256 MiB by default) of its input.
        (home / "stoq.toml").write_text(
            f"[core]\nplugin_timeout = 3600\nmax_payload_size = {size + 1}\n"
        )
        env = bench_env(home)
        samples = interleave(
            {
                "hash alone": lambda: run_command(
                    [sys.executable, "-c", HASH_ALONE, str(path)], env
                ),
                "stoq scan": lambda: run_command([*STOQ, "scan", "--jsonl", str(path)], env),
            },
            args.rounds,
            warm_up=False,  # a 1 GiB scan is long enough for its first start not to matter
        )
    ratio = median(samples["stoq scan"]) / median(samples["hash alone"])
    numbers = {"file bytes": size, **describe(samples)}
    report(
        "big_file",
        f"{args.size_mib} MiB file, default profile, time vs hashing it alone",
        ratio,
        "<= 2",
        ratio <= 2,
        numbers,
    )
    peaks = sorted(sample.rss for sample in samples["stoq scan"])
    rss = max(peaks) / size
    report(
        "big_file",
        f"peak RSS, {args.size_mib} MiB file, default profile, vs file size",
        rss,
        "<= 1.1",
        rss <= 1.1,
        {
            "peak RSS bytes (min/max)": f"{peaks[0]}/{peaks[-1]}",
            "hash alone peak RSS": max(s.rss for s in samples["hash alone"]),
        },
    )


if __name__ == "__main__":
    main()
