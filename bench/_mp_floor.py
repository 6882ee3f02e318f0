"""The bare multiprocessing loop the scaling benchmark compares with (run as its own process).

``python _mp_floor.py FOLDER PROCESSES``: a ``multiprocessing`` pool reads every file, does the
floor's work on it (hash with the default algorithms, the same JSON response, bench/_floor.py)
and sends the JSON back; the parent writes each line to standard output, as `stoq scan --jsonl`
does.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

from _floor import DEFAULT_ALGORITHMS, digests, new_id, result


def work(path: str) -> str:
    content = Path(path).read_bytes()
    hashes = digests(content, DEFAULT_ALGORITHMS)
    response = {"scan_id": new_id(), "results": [result(content, hashes, {})], "errors": []}
    return json.dumps(response, separators=(",", ":"), ensure_ascii=False)


def main() -> None:
    folder, processes = Path(sys.argv[1]), int(sys.argv[2])
    paths = sorted(str(p) for p in folder.iterdir())
    out = sys.stdout
    if processes == 1:
        for path in paths:
            out.write(work(path) + "\n")
        return
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for line in pool.imap(work, paths, chunksize=4):
            out.write(line + "\n")


if __name__ == "__main__":
    main()
