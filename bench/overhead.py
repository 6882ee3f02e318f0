"""Framework overhead: small payloads through `hash` only, versus a bare loop doing the same work.

The bare loop hashes each payload with the same algorithms and builds the same JSON a stoQ
response has (ids, UTC time, sha256, the worker's results), so the ratio is what the framework
itself costs. Deadlines are on (the default plugin_timeout applies to every call).
Target: stoQ reaches at least 0.8 of the bare loop's payloads per second.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
import uuid
from datetime import datetime, timezone

from _common import report

ALGORITHMS = ["md5", "sha1", "sha256"]


def bare_loop(payloads: list) -> float:
    started = time.perf_counter()
    for content in payloads:
        results = {name: hashlib.new(name, content).hexdigest() for name in ALGORITHMS}
        json.dumps(
            {
                "scan_id": str(uuid.uuid4()),
                "time": datetime.now(timezone.utc).isoformat(),
                "results": [
                    {
                        "payload_id": str(uuid.uuid4()),
                        "size": len(content),
                        "sha256": hashlib.sha256(content).hexdigest(),
                        "payload_meta": {
                            "should_archive": True,
                            "extra_data": {},
                            "dispatch_to": [],
                            "should_scan": True,
                        },
                        "extracted_from": None,
                        "extracted_by": None,
                        "workers": [{"hash": results}],
                        "plugins_run": {"workers": [["hash"]], "archivers": []},
                        "archivers": {},
                        "dispatch_meta": {},
                        "deep_dispatch_meta": {},
                    }
                ],
                "request_meta": {"archive_payloads": True, "source": None, "extra_data": {}},
                "errors": [],
                "decorators": {},
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
    return len(payloads) / (time.perf_counter() - started)


def stoq_loop(payloads: list) -> float:
    from stoq import Stoq

    stoq = Stoq(always_dispatch=["hash"], plugin_opts={"hash": {"algorithms": ALGORITHMS}})
    stoq.scan(b"warm up")
    started = time.perf_counter()
    for content in payloads:
        str(stoq.scan(content))
    return len(payloads) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=30000, help="payloads per run")
    parser.add_argument("--size", type=int, default=1024, help="bytes per payload")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    args = parser.parse_args()
    payloads = [os.urandom(args.size) for _ in range(args.n)]
    bare = max(bare_loop(payloads) for _ in range(args.repeat))
    framework = max(stoq_loop(payloads) for _ in range(args.repeat))
    report(
        "overhead",
        {
            "payloads": args.n,
            "size": args.size,
            "bare_per_s": round(bare),
            "stoq_per_s": round(framework),
        },
        ratio=framework / bare,
        target=">= 0.8",
        met=framework / bare >= 0.8,
    )


if __name__ == "__main__":
    main()
