"""Framework overhead: small payloads through `hash` only, versus the fastest honest bare loop.

The bare loop does the same work as stoQ and nothing more, the fastest way Python offers:
hashlib's named constructors, SHA-256 computed once (it is both the payload's identity and one
of the hash results, as in stoQ), ids made the way stoQ makes them (256 from one
``os.urandom`` call), and the same JSON response written with the same ``json.dumps``
settings through the C encoder made directly, as stoQ writes it (``_floor.py``). Deadlines are on in stoQ (the default
plugin_timeout applies to every call). The sides alternate, in one process, round by round.
Target: stoQ reaches at least 0.9 of the bare loop's payloads per second (CPU time).

A third side measures what the per-call timings cost: stoQ with the engine's clock and its
timing records replaced by no-ops (``clock`` and ``add_time`` in ``stoq.request`` and
``stoq.workflow``), so the responses carry no timings. Its row reports the difference per
plugin call (reported, with the aim of at most about 1 us).
"""

from __future__ import annotations

import argparse
import hashlib
import os
from datetime import datetime, timezone

from _common import describe, in_process, interleave, median, report
from _floor import dumps, new_id

ALGORITHMS = ["md5", "sha1", "sha256"]


def bare_loop(payloads: list) -> None:
    md5, sha1, sha256 = hashlib.md5, hashlib.sha1, hashlib.sha256
    for content in payloads:
        digest = sha256(content).hexdigest()
        results = {
            "md5": md5(content).hexdigest(),
            "sha1": sha1(content).hexdigest(),
            "sha256": digest,
        }
        dumps(
            {
                "scan_id": new_id(),
                "time": datetime.now(timezone.utc).isoformat(),
                "results": [
                    {
                        "payload_id": new_id(),
                        "size": len(content),
                        "sha256": digest,
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
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20000, help="payloads per round")
    parser.add_argument("--size", type=int, default=1024, help="bytes per payload")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--no-timings-side",
        action="store_true",
        help="leave out the timings-off side (e.g. to compare with a core that has no timings)",
    )
    args = parser.parse_args()
    from stoq import Stoq

    payloads = [os.urandom(args.size) for _ in range(args.n)]
    stoq = Stoq(always_dispatch=["hash"], plugin_opts={"hash": {"algorithms": ALGORITHMS}})
    stoq.scan(b"warm up")

    def framework() -> None:
        scan = stoq.scan
        for content in payloads:
            str(scan(content))

    def untimed() -> None:
        import stoq.request
        import stoq.workflow

        engines = (stoq.request, stoq.workflow)
        saved = [(engine.clock, engine.add_time) for engine in engines]
        for engine in engines:
            engine.clock, engine.add_time = float, lambda *args: None  # float() is 0.0
        try:
            framework()
        finally:
            for engine, (clock, add_time) in zip(engines, saved):
                engine.clock, engine.add_time = clock, add_time

    sides = {"bare": in_process(lambda: bare_loop(payloads)), "stoq": in_process(framework)}
    if not args.no_timings_side:
        sides["stoq, timings off"] = in_process(untimed)
    samples = interleave(sides, args.rounds)
    ratio = median(samples["bare"]) / median(samples["stoq"])
    report(
        "overhead",
        f"{args.size} B payloads through hash, payloads/s vs the honest floor",
        ratio,
        ">= 0.9",
        ratio >= 0.9,
        {"payloads per round": args.n, **describe(samples, 1e6 / args.n, "us/payload")},
    )
    if args.no_timings_side:
        return
    # One request here is one plugin call (hash) plus the request's total.
    per_call = (median(samples["stoq"]) - median(samples["stoq, timings off"])) * 1e6 / args.n
    quickest = [min(s.cpu for s in samples[side]) for side in ("stoq", "stoq, timings off")]
    report(
        "overhead",
        "timings' cost, us per plugin call (CPU)",
        per_call,
        "reported (aim <= ~1 us)",
        None,
        {
            "payloads per round": args.n,
            "difference of the quickest rounds": f"{(quickest[0] - quickest[1]) * 1e6 / args.n:.2f} us",
            **describe(samples, 1e6 / args.n, "us/payload"),
        },
    )


if __name__ == "__main__":
    main()
