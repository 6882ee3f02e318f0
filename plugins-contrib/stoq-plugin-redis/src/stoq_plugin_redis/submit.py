"""Put files on the work stream, refusing to grow it past a backlog; optionally wait for results.

    stoq-redis-submit FILE... [--stream S] [--max-backlog N] [--wait]
    (or python -m stoq_plugin_redis.submit ...)

The same as a function: ``Submitter(options).submit(content, extra_data)`` or
``submit_files(paths, options)``. A payload above ``inline_max`` bytes travels as a reference:
it is stored by an archiver plugin (``archiver``, e.g. ``s3``) and the entry carries that
archiver's task, which the scanning node's source archiver resolves.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from stoq.data_classes import Payload, PayloadMeta, RequestMeta
from stoq_plugin_redis.connection import connect
from stoq_plugin_redis.wire import encode, scan_id_for

__all__ = ["BacklogFull", "Submission", "Submitter", "main", "submit_files", "wait_for_results"]

#: Adds the entry only while the stream holds fewer than ARGV[1] entries (atomic in Redis).
_BOUNDED_XADD = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
"""
DEFAULTS: Dict[str, Any] = {
    "stream": "stoq:work",
    "max_backlog": 10000,
    "inline_max": 1024 * 1024,
    "archiver": "",
    "results_key_prefix": "stoq:result:",
}


class BacklogFull(RuntimeError):
    """The stream already holds ``max_backlog`` entries not yet saved: nothing was added."""


@dataclass(frozen=True)
class Submission:
    """One payload on the stream: its entry id and the scan id its response will carry."""

    entry_id: str
    scan_id: str
    name: str


class Submitter:
    """Adds payloads to one stream. ``options`` as the plugin's (url, username, password, TLS),
    plus ``stream``, ``max_backlog``, ``inline_max``, ``archiver`` and ``archiver_opts``."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = {**DEFAULTS, **options}
        self.client = connect(self.options)
        self.stream = str(self.options["stream"])
        self._add = self.client.register_script(_BOUNDED_XADD)
        self._archiver: Any = None

    def submit(
        self,
        content: bytes,
        extra_data: Optional[Mapping[str, Any]] = None,
        dispatch_to: Optional[List[str]] = None,
    ) -> Submission:
        """Add one payload; raises ``BacklogFull`` rather than trim work nobody has read."""
        if len(content) <= int(self.options["inline_max"]):
            fields = encode(content, None, extra_data, dispatch_to)
        else:
            fields = encode(None, self._store(content, extra_data), extra_data, dispatch_to)
        args: List[Any] = [int(self.options["max_backlog"])]
        for key, value in fields.items():
            args += [key, value]
        entry_id = self._add(keys=[self.stream], args=args)
        if entry_id is None:
            raise BacklogFull(
                f"stream {self.stream!r} holds {self.options['max_backlog']} entries not yet"
                " saved (max_backlog); try again later or add scanning nodes"
            )
        entry = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        name = str((extra_data or {}).get("filename", ""))
        return Submission(entry, scan_id_for(self.stream, entry), name)

    def _store(self, content: bytes, extra_data: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
        """Archive a large payload with the configured archiver; its result is the task."""
        name = str(self.options["archiver"])
        if not name:
            raise ValueError(
                f"payload of {len(content)} bytes exceeds inline_max ({self.options['inline_max']})"
                " and no archiver is configured to carry it"
            )
        if self._archiver is None:
            from stoq import Stoq

            opts = {name: dict(self.options.get("archiver_opts") or {})}
            self._archiver = Stoq(plugin_opts=opts).load_plugin(name)
        payload = Payload(content, PayloadMeta(extra_data=dict(extra_data or {})))
        response = self._archiver.archive(payload, RequestMeta())
        if response is None or not isinstance(response.results, dict):
            raise ValueError(
                f"archiver {name!r} returned no task for a {len(content)}-byte payload"
            )
        return {name: {**response.results, "extra_data": dict(extra_data or {})}}


def submit_files(
    paths: Iterable[os.PathLike[str] | str], options: Mapping[str, Any]
) -> List[Submission]:
    """Submit each file with ``extra_data = {"filename": <name>}``; stops at a full backlog."""
    submitter = Submitter(options)
    return [
        submitter.submit(Path(path).read_bytes(), {"filename": Path(path).name}) for path in paths
    ]


def wait_for_results(
    scan_ids: Sequence[str], options: Mapping[str, Any], timeout: float = 60.0
) -> Dict[str, Any]:
    """The responses the redis connector saved under each scan id (those that came in time)."""
    merged = {**DEFAULTS, **options}
    client = connect(merged)
    prefix = str(merged["results_key_prefix"])
    found: Dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    while True:
        missing = [s for s in scan_ids if s not in found]
        if not missing:
            return found
        for scan_id, text in zip(missing, client.mget([prefix + s for s in missing])):
            if text is not None:
                found[scan_id] = json.loads(text)
        if time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def _options(args: argparse.Namespace) -> Dict[str, Any]:
    archiver_opts: Dict[str, Any] = {}
    for text in args.archiver_opt:
        key, sep, value = text.partition("=")
        if not sep:
            raise SystemExit(f"--archiver-opt {text!r}: expected KEY=VALUE")
        archiver_opts[key] = value
    options: Dict[str, Any] = {
        "url": args.url,
        "stream": args.stream,
        "max_backlog": args.max_backlog,
        "inline_max": args.inline_max,
        "archiver": args.archiver,
        "archiver_opts": archiver_opts,
        "results_key_prefix": args.results_key_prefix,
    }
    return options


def main(argv: Optional[List[str]] = None) -> int:
    """Submit files; print one JSON line per file (and its response with ``--wait``)."""
    parser = argparse.ArgumentParser(
        prog="stoq-redis-submit",
        description="Put files on a stoQ Redis work stream for `stoq run -P redis` nodes.",
    )
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--url", default="", help="redis:// or rediss:// URL (else STOQ_REDIS_URL)")
    parser.add_argument("--stream", default=DEFAULTS["stream"])
    parser.add_argument("--max-backlog", type=int, default=DEFAULTS["max_backlog"])
    parser.add_argument("--inline-max", type=int, default=DEFAULTS["inline_max"])
    parser.add_argument("--archiver", default="", help="archiver plugin for larger payloads")
    parser.add_argument("--archiver-opt", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--results-key-prefix", default=DEFAULTS["results_key_prefix"])
    parser.add_argument("--wait", action="store_true", help="wait for each response")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    options = _options(args)
    try:
        submitted = submit_files(args.files, options)
    except (BacklogFull, OSError, ValueError) as exc:
        print(f"stoq-redis-submit: {exc}", file=sys.stderr)
        return 1
    results = (
        wait_for_results([s.scan_id for s in submitted], options, args.timeout) if args.wait else {}
    )
    for item in submitted:
        line: Dict[str, Any] = {
            "file": item.name,
            "entry_id": item.entry_id,
            "scan_id": item.scan_id,
        }
        if args.wait:
            line["response"] = results.get(item.scan_id)
        print(json.dumps(line))
    return 0 if not args.wait or len(results) == len(submitted) else 1


if __name__ == "__main__":
    sys.exit(main())
