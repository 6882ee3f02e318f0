"""Extraction: a zip of 10,000 small members scanned with decompress + hash, versus a bare loop
that reads every member with zipfile and hashes it the same way.

Target: stoQ's time is at most 1.5x the bare loop's.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import time
import zipfile

from _common import report

ALGORITHMS = ["md5", "sha1", "sha256"]


def make_zip(members: int, size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(members):
            archive.writestr(f"dir/member-{i:05d}.bin", os.urandom(size))
    return buffer.getvalue()


def bare_loop(data: bytes) -> float:
    started = time.perf_counter()
    results = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            content = archive.read(info)
            results.append({name: hashlib.new(name, content).hexdigest() for name in ALGORITHMS})
    return time.perf_counter() - started


def stoq_loop(data: bytes, members: int) -> float:
    from stoq import Stoq

    stoq = Stoq(
        always_dispatch=["hash"],
        plugin_opts={
            "hash": {"algorithms": ALGORITHMS},
            "decompress": {"max_members": members + 1},
        },
        max_payloads=members + 10,
    )
    started = time.perf_counter()
    response = stoq.scan(data, add_start_dispatch=["decompress"])
    elapsed = time.perf_counter() - started
    assert len(response.results) == members + 1, (len(response.results), response.errors[:3])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--size", type=int, default=256, help="bytes per member")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = make_zip(args.members, args.size)
    bare = min(bare_loop(data) for _ in range(args.repeat))
    framework = min(stoq_loop(data, args.members) for _ in range(args.repeat))
    ratio = framework / bare
    report(
        "extraction",
        {"members": args.members, "bare_s": round(bare, 3), "stoq_s": round(framework, 3)},
        ratio=ratio,
        target="<= 1.5 (time, stoq / bare)",
        met=ratio <= 1.5,
    )


if __name__ == "__main__":
    main()
