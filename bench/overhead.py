"""Framework overhead: small payloads through `hash` only, versus the fastest honest bare loop.

The bare loop does the same work as stoQ and nothing more, the fastest way Python offers:
hashlib's named constructors, SHA-256 computed once (it is both the payload's identity and one
of the hash results, as in stoQ), ids made the way stoQ makes them (256 from one
``os.urandom`` call), the time from the integer clock, and the same JSON response written
with the same ``json.dumps`` settings through the C encoder made directly, as stoQ writes it
(``_floor.py``). Deadlines are on in stoQ (the default plugin_timeout applies to every call).
The sides alternate, in one process, round by round.
Target: stoQ reaches at least 0.9 of the bare loop's payloads per second (CPU time).

A third side bounds what any engine could reach: the bare loop plus only what the SPEC asks of
every request, each done the cheapest way (``spec_minimum_loop``): stoQ v2's objects (a payload
with its meta, the worker's response, the payload's record, the request's meta, the response),
a deadline entry around the plugin call (§5.6; registered and removed, no watchdog), the
timings in the response (§14; two clock reads a call and the total) and the worker called
through its method.
Its ratio is reported: a target above it cannot be met by an engine that keeps those promises.

A fourth side measures what the per-call timings cost: stoQ with the engine's clock and its
timing records replaced by no-ops (``clock`` and ``add_time`` in ``stoq.request`` and
``stoq.workflow``), so the responses carry no timings. Its row reports the difference per
plugin call (reported, with the aim of at most about 1 us).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import threading
import time

from _common import describe, in_process, interleave, median, report
from _floor import dumps, new_id, now_iso

ALGORITHMS = ["md5", "sha1", "sha256"]
#: The request's metadata as a response writes it.
REQUEST_META = {"archive_payloads": True, "source": None, "extra_data": {}}


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
                "time": now_iso(),
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
                "request_meta": REQUEST_META,
                "errors": [],
                "decorators": {},
            }
        )


class _Meta:
    """stoQ v2's PayloadMeta: the four attributes a plugin may read or set."""

    def __init__(self) -> None:
        self.should_archive, self.extra_data, self.dispatch_to, self.should_scan = (
            True,
            {},
            [],
            True,
        )


class _Payload:
    """stoQ v2's Payload: content, meta, lineage, id, and what plugins have said about it."""

    def __init__(self, content: bytes, sha256: str) -> None:
        self.content, self.sha256, self.payload_meta = content, sha256, _Meta()
        self.extracted_by = self.extracted_from = None
        self.payload_id = new_id()
        self.dispatch_meta, self.deep_dispatch_meta, self.archiver_results = {}, {}, {}
        self.worker_results = [{}]
        self.plugins_run = {"workers": [[]], "archivers": []}


class _WorkerResponse:
    """stoQ v2's WorkerResponse."""

    def __init__(self, results: dict) -> None:
        self.results, self.extracted, self.errors = results, [], []


class _Record:
    """A response's entry for one payload (v2's PayloadResults), taken from the payload."""

    def __init__(self, payload: _Payload, timings: dict) -> None:
        self.payload, self.timings = payload, timings


class _RequestMeta:
    """stoQ v2's RequestMeta, made for a request that was given none."""

    def __init__(self) -> None:
        self.archive_payloads, self.source, self.extra_data = True, None, {}


class _Response:
    """stoQ v2's StoqResponse, with the request's timings."""

    def __init__(self, results: list, scan_id: str, time: str, timings: dict) -> None:
        self.results, self.request_meta, self.errors, self.decorators = (
            results,
            _RequestMeta(),
            [],
            {},
        )
        self.scan_id, self.time, self.timings = scan_id, time, timings


def spec_minimum_loop(payloads: list, timeout: float = 60.0) -> None:
    """The bare loop plus what the SPEC asks of every request, each the cheapest way (the
    timings to the microsecond, as stoQ writes them: shorter floats are quicker to write)."""
    md5, sha1, sha256 = hashlib.md5, hashlib.sha1, hashlib.sha256
    clock, monotonic, ident = time.perf_counter, time.monotonic, threading.get_ident()
    deadlines: dict = {}

    def scan(payload: _Payload) -> _WorkerResponse:  # the hash worker
        content = payload.content
        results = {"md5": md5(content).hexdigest(), "sha1": sha1(content).hexdigest()}
        results["sha256"] = payload.sha256
        return _WorkerResponse(results)

    for content in payloads:
        started = clock()
        payload = _Payload(content, sha256(content).hexdigest())
        call_started = clock()
        deadlines[ident] = monotonic() + timeout
        response = scan(payload)
        del deadlines[ident]
        payload.worker_results[0]["hash"] = response.results
        payload.plugins_run["workers"][0].append("hash")
        record = _Record(
            payload, {"scan": {"hash": ((clock() - call_started) * 1e6 + 0.5) // 1 / 1e6}}
        )
        answer = _Response(
            [record],
            new_id(),
            now_iso(),
            {"total": ((clock() - started) * 1e6 + 0.5) // 1 / 1e6},
        )
        meta, request = payload.payload_meta, answer.request_meta  # one payload: none extracted
        dumps(
            {
                "scan_id": answer.scan_id,
                "time": answer.time,
                "results": [
                    {
                        "payload_id": payload.payload_id,
                        "size": len(payload.content),
                        "sha256": payload.sha256,
                        "payload_meta": {
                            "should_archive": meta.should_archive,
                            "extra_data": meta.extra_data,
                            "dispatch_to": meta.dispatch_to,
                            "should_scan": meta.should_scan,
                        },
                        "extracted_from": payload.extracted_from,
                        "extracted_by": payload.extracted_by,
                        "workers": payload.worker_results,
                        "plugins_run": payload.plugins_run,
                        "archivers": payload.archiver_results,
                        "dispatch_meta": payload.dispatch_meta,
                        "deep_dispatch_meta": payload.deep_dispatch_meta,
                        "timings": record.timings,
                    }
                ],
                "request_meta": {
                    "archive_payloads": request.archive_payloads,
                    "source": request.source,
                    "extra_data": request.extra_data,
                },
                "errors": answer.errors,
                "decorators": answer.decorators,
                "timings": answer.timings,
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

    sides = {
        "bare": in_process(lambda: bare_loop(payloads)),
        "stoq": in_process(framework),
        "SPEC minimum": in_process(lambda: spec_minimum_loop(payloads)),
    }
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
    least = median(samples["bare"]) / median(samples["SPEC minimum"])
    report(
        "overhead",
        "the same for the SPEC's minimum (v2 objects, a deadline entry, timings; no engine)",
        least,
        "reported (the most any engine could reach)",
        None,
        {
            "stoQ vs the SPEC minimum": f"{median(samples['SPEC minimum']) / median(samples['stoq']):.2f}"
        },
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
