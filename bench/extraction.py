"""Extraction: a zip of 10,000 small members scanned with decompress (named at the start) and
hash, the JSON response written, versus the bare loop that reads every member with zipfile,
hashes it once per algorithm and writes the same JSON (bench/_floor.py).

Target: stoQ's CPU time per member is at most 1.5x the bare loop's.
"""

from __future__ import annotations

import argparse
import io
import os
import zipfile

from _common import describe, in_process, interleave, median, report
from _floor import scan as bare_scan

ALGORITHMS = ["md5", "sha1", "sha256"]


def make_zip(members: int, size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(members):
            archive.writestr(f"dir/member-{i:05d}.bin", os.urandom(size))
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--size", type=int, default=256, help="bytes per member")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    from stoq import Stoq

    data = make_zip(args.members, args.size)
    stoq = Stoq(
        always_dispatch=["hash"],
        plugin_opts={
            "hash": {"algorithms": ALGORITHMS},
            "decompress": {"max_members": args.members + 1},
        },
        max_payloads=args.members + 10,
    )

    def framework() -> None:
        response = stoq.scan(data, add_start_dispatch=["decompress"])
        str(response)
        assert len(response.results) == args.members + 1, response.errors[:3]

    def bare() -> None:
        assert bare_scan(data, ALGORITHMS) == args.members + 1

    samples = interleave({"bare": in_process(bare), "stoq": in_process(framework)}, args.rounds)
    ratio = median(samples["stoq"]) / median(samples["bare"])
    report(
        "extraction",
        "zip member, decompress at start, with JSON, time vs floor",
        ratio,
        "<= 1.5",
        ratio <= 1.5,
        {"members": args.members, **describe(samples, 1e6 / args.members, "us/member")},
    )


if __name__ == "__main__":
    main()
