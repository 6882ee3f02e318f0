"""The whole-request cache: the same root bytes, scanned the same way, cost one lookup (SPEC §14).

The worker cache (``stoq.cache``) still runs the dispatchers and rebuilds every payload on a
hit. When the same file comes again as a root, scanned with the same settings, request and
plugins, this cache answers the whole scan from one entry: every payload's record and the
errors, under fresh payload ids. Decorators and connectors still run on every response.

The key is the root's SHA-256 and a digest of what shapes the scan: the routing lists and
limits, the root's ``payload_meta``, the ``request_meta`` and the start lists. The entry names
every plugin that took part with its cache key (name, version, options digest); one that
changed, opted out or is gone makes the entry a miss. Only scans that nothing failed in are
stored (no errors but the deterministic ``limit`` ones): a timeout or a crash is scanned
again. With destination archivers at work the cache is not used: each payload must be saved.
"""

from __future__ import annotations

import hashlib
import json

from stoq.data_classes import (
    Error,
    Payload,
    PayloadMeta,
    PayloadResults,
    RequestMeta,
    StoqResponse,
    new_id,
)
from stoq.invoke import PluginCalls
from stoq.log import get_logger
from stoq.serialize import dumps
from stoq.settings import CoreSettings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

__all__ = ["lookup", "request_key", "store"]

log = get_logger("stoq.cache")

#: Settings that change what a scan finds (decorators and connectors run on every response).
_SHAPING = (
    "always_dispatch",
    "dispatchers",
    "deep_dispatchers",
    "max_recursion",
    "max_dispatch_passes",
    "max_payloads",
    "max_total_bytes",
    "max_payload_size",
)


def request_key(
    calls: PluginCalls, settings: CoreSettings, payload: Payload, args: Any, meta: RequestMeta
) -> Optional[str]:
    """The entry's key for this request, or None when the cache is off or must not be used."""
    cache = calls.cache
    if cache is None or cache.broken or args.errors:
        return None
    if settings.dest_archivers and meta.archive_payloads:
        return None
    shape = [
        [getattr(settings, name) for name in _SHAPING],
        payload.payload_meta.to_dict(),
        meta.to_dict(),
        args.add_start_dispatch,
        args.add_start_deep_dispatch,
    ]
    text = json.dumps(shape, sort_keys=True, default=repr, separators=(",", ":"))
    return f"request:{hashlib.sha256(text.encode()).hexdigest()[:32]}:{payload.sha256}"


def store(calls: PluginCalls, settings: CoreSettings, key: str, response: StoqResponse) -> None:
    """Keep a scan that nothing failed in, payload ids replaced by their index."""
    if any(e.stage != "limit" or e.error.startswith("MemoryError") for e in response.errors):
        return
    index = {result.payload_id: i for i, result in enumerate(response.results)}
    names = dict.fromkeys([*settings.dispatchers, *settings.deep_dispatchers])
    results = []
    for result in response.results:
        for round_names in result.plugins_run["workers"]:
            names.update(dict.fromkeys(round_names))
        record = result.to_dict()
        record.pop("timings")
        record.pop("from_cache", None)
        del record["payload_id"]
        if record["extracted_from"] is not None:
            record["extracted_from"] = index[record["extracted_from"]]
        results.append(record)
    errors = []
    for error in response.errors:
        if error.payload_id is not None and error.payload_id not in index:
            return
        record = error.to_dict()
        record["payload_id"] = index.get(error.payload_id)  # type: ignore[arg-type]
        errors.append(record)
    plugins = {name: calls.cache_key_of(name) for name in names}
    if None in plugins.values():
        return  # a plugin opted out or cannot be loaded
    entry = {
        "scan_id": response.scan_id,
        "time": response.time,
        "plugins": plugins,
        "results": results,
        "errors": errors,
    }
    calls.cache.put_raw(key, dumps(entry).encode())  # type: ignore[union-attr]


def lookup(
    calls: PluginCalls, key: str, payload: Payload, meta: RequestMeta, scan_id: str
) -> Optional[StoqResponse]:
    """The stored scan as this request's response (fresh ids), or None on a miss."""
    raw = calls.cache.get_raw(key)  # type: ignore[union-attr]
    if raw is None:
        return None
    try:
        entry = json.loads(raw)
        if any(calls.cache_key_of(n) != k for n, k in entry["plugins"].items()):
            return None
        response = _response(entry, payload, meta, scan_id)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        log.error("result cache: unusable request entry %s, scanning again: %s", key, exc)
        return None
    return response


def _response(
    entry: Dict[str, Any], payload: Payload, meta: RequestMeta, scan_id: str
) -> StoqResponse:
    records: List[Dict[str, Any]] = entry["results"]
    if records[0]["sha256"] != payload.sha256:
        raise ValueError("the entry's root is another file")
    ids = [payload.payload_id] + [new_id() for _ in records[1:]]
    results = []
    for i, record in enumerate(records):
        parent = record["extracted_from"]
        plugins_run = record["plugins_run"]
        results.append(
            PayloadResults(
                ids[i],
                record["size"],
                payload.payload_meta if i == 0 else PayloadMeta(**record["payload_meta"]),
                record["workers"],
                plugins_run,
                None if parent is None else ids[parent],
                record["extracted_by"],
                record["sha256"],
                record["archivers"],
                record["dispatch_meta"],
                record["deep_dispatch_meta"],
                {},
                [name for round_names in plugins_run["workers"] for name in round_names],
            )
        )
    errors = [
        Error(
            e["error"],
            e["plugin_name"],
            None if e["payload_id"] is None else ids[e["payload_id"]],
            e["stage"],
        )
        for e in entry["errors"]
    ]
    response = StoqResponse(results, meta, errors, scan_id=scan_id)
    response.from_cache = {"scan_id": entry["scan_id"], "time": entry["time"]}
    return response
