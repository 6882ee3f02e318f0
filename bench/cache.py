"""The result cache on repeated files: a corpus where each file appears ten times (the same
attachment sent to ten mailboxes), scanned in process with ``Stoq(profile="default")``.

Sides, alternating round by round: no cache; the SQLite cache starting empty each round (the
first copy of each file misses, the nine others hit); and a warm pass where every worker call
hits. A hit still runs the dispatchers and deep dispatchers (yara, results): the cache holds
workers' answers only.
Target: reported (the speed-up of the cold and warm cache over no cache).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from typing import List

from _common import describe, in_process, interleave, median, report
from default_profile import make_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20, help="distinct files (zips)")
    parser.add_argument("--copies", type=int, default=10, help="times each file appears")
    parser.add_argument("--members", type=int, default=20, help="members per zip")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from stoq import Stoq

    distinct = make_corpus(args.files, args.members)
    corpus: List[bytes] = [content for content in distinct for _ in range(args.copies)]
    folder = tempfile.mkdtemp(prefix="stoq-bench-cache-")
    plain = Stoq(profile="default")
    warm = Stoq(profile="default", result_cache=f"sqlite:{folder}/warm.sqlite")
    for content in distinct:
        warm.scan(content)
    rounds = iter(range(10**6))

    def scan_all(stoq: Stoq) -> None:
        for content in corpus:
            str(stoq.scan(content))

    def cold() -> None:
        stoq = Stoq(profile="default", result_cache=f"sqlite:{folder}/cold-{next(rounds)}.sqlite")
        scan_all(stoq)
        stoq.close()

    samples = interleave(
        {
            "no cache": in_process(lambda: scan_all(plain)),
            "cold cache": in_process(cold),
            "warm cache": in_process(lambda: scan_all(warm)),
        },
        args.rounds,
    )
    shutil.rmtree(folder, ignore_errors=True)
    numbers = {
        "files": f"{len(distinct)} distinct x {args.copies} copies = {len(corpus)} requests",
        **describe(samples, 1e3 / len(corpus), "ms/request"),
    }
    for side in ("cold cache", "warm cache"):
        ratio = median(samples["no cache"]) / median(samples[side])
        report("cache", f"{side}: speed-up over no cache", ratio, "reported", None, numbers)


if __name__ == "__main__":
    main()
