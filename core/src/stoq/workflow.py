"""One request's payloads, level by level (SPEC §5.1): each payload dispatched, scanned by its
workers, deep-dispatched and archived; what the workers extract becomes the next level's
payloads, within the request's limits.

Everything a plugin returns is used inside the failure boundary: a malformed response becomes
one ``Error`` for that plugin and the rest of the request goes on. ``Request`` holds only what
belongs to one request (seen hashes, budgets, errors, results); plugins are called through the
engine's one ``PluginCalls``.
"""

from __future__ import annotations

from stoq import tracing
from stoq.cache import CacheEntry
from stoq.data_classes import (
    ArchiverResponse,
    DispatcherResponse,
    Error,
    ExtractedPayload,
    Payload,
    PayloadResults,
    RequestMeta,
    WorkerResponse,
)
from stoq.invoke import (
    PluginCalls,
    checked_names,
    checked_results,
    invoke,
    normalise_errors,
    one_line,
    unusable,
)
from stoq.plugins import (
    ArchiverPlugin,
    DeepDispatcherPlugin,
    DispatcherPlugin,
    WorkerPlugin,
)
from stoq.settings import CoreSettings
from stoq.timings import add as add_time
from stoq.timings import clock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence, Set

__all__ = ["Request"]

#: Individual limit errors kept per request and limit; further ones are counted in one record.
LIMIT_ERRORS_KEPT = 100


def _union(*groups: Optional[Sequence[str]]) -> List[str]:
    """Ordered union without duplicates (dict keys keep insertion order)."""
    merged: Dict[str, None] = {}
    for group in groups:
        if group:
            merged.update(dict.fromkeys(group))
    return list(merged)


class Request:
    """Scans one root payload and everything extracted from it, breadth first."""

    def __init__(
        self, calls: PluginCalls, settings: CoreSettings, request_meta: RequestMeta, args: Any
    ) -> None:
        self.calls = calls
        self.settings = settings
        self.request_meta = request_meta
        self.start_dispatch = args.add_start_dispatch or []
        self.start_deep_dispatch = args.add_start_deep_dispatch or []
        self.errors: List[Error] = list(args.errors)
        self.results: List[PayloadResults] = []
        self._seen: Set[str] = set()
        self._payload_count = 0
        self._extracted_bytes = 0
        self._limit_hits: Dict[str, int] = {}

    def run(self, root: Payload) -> None:
        if self.start_dispatch or self.start_deep_dispatch:
            self._start_lists(root)
        self._seen.add(root.sha256)
        self._payload_count = 1
        level, depth = [root], 0
        process = self._process_traced if tracing.ON else self._process
        while level:
            next_level: List[Payload] = []
            for payload in level:
                process(payload, depth, payload is root, next_level)
            level, depth = next_level, depth + 1
        for kind, count in self._limit_hits.items():
            if count > LIMIT_ERRORS_KEPT:
                self.errors.append(
                    Error(
                        f"{count - LIMIT_ERRORS_KEPT} more payloads not scanned: {kind}",
                        None,
                        root.payload_id,
                        "limit",
                    )
                )

    def _start_lists(self, root: Payload) -> None:
        """The caller's start lists must be lists of names: a wrong type is reported as one."""
        for attribute in ("start_dispatch", "start_deep_dispatch"):
            try:
                setattr(self, attribute, checked_names(getattr(self, attribute), attribute))
            except TypeError as exc:
                self.errors.append(Error(str(exc), None, root.payload_id, "dispatch"))
                setattr(self, attribute, [])

    # -- one payload -------------------------------------------------------------------

    def _process_traced(
        self, payload: Payload, depth: int, is_root: bool, next_level: List[Payload]
    ) -> None:
        with tracing.payload_span(payload.sha256, payload.payload_id, len(payload.content)):
            self._process(payload, depth, is_root, next_level)

    def _process(
        self, payload: Payload, depth: int, is_root: bool, next_level: List[Payload]
    ) -> None:
        self.results.append(PayloadResults.from_payload(payload))
        settings = self.settings
        meta = payload.payload_meta
        if meta.should_scan:
            if settings.dispatchers or meta.dispatch_to or (is_root and self.start_dispatch):
                workers = self._dispatch(payload, is_root)
            else:  # the common case: nothing to ask or merge
                workers = settings.always_dispatch
            self._run_workers(payload, workers, 0, depth, next_level)
            if settings.deep_dispatchers or (is_root and self.start_deep_dispatch):
                self._deep_dispatch(payload, depth, is_root, next_level)
        if (
            settings.dest_archivers
            and self.request_meta.archive_payloads
            and payload.payload_meta.should_archive  # a worker may have replaced it
        ):
            self._archive(payload)

    def _ask(
        self,
        names: List[str],
        role: type,
        method: str,
        stage: str,
        payload: Payload,
        meta_store: Dict[str, Dict[str, Any]],
    ) -> List[str]:
        """Ask each (deep) dispatcher for workers; keep its meta and errors."""
        wanted: List[str] = []
        for name in names:
            started = clock()
            response = self.calls(
                self.errors,
                name,
                role,
                method,
                stage,
                payload.payload_id,
                DispatcherResponse,
                payload,
                self.request_meta,
            )
            add_time(payload.timings, stage, name, started)
            if response is None:
                continue
            try:
                asked = checked_names(response.plugin_names, "plugin_names")
                optional = getattr(response, "if_installed", None)
                if optional:
                    asked += self._installed(name, optional, meta_store, payload, stage)
                if response.meta:
                    meta_store.setdefault(name, {}).update(checked_results(response.meta))
                self.errors.extend(
                    normalise_errors(response.errors, name, payload.payload_id, stage)
                )
            except Exception as exc:  # noqa: BLE001 - the failure boundary
                unusable(self.errors, name, payload.payload_id, stage, exc)
                continue
            wanted.extend(asked)
        return wanted

    def _installed(
        self,
        dispatcher: str,
        names: Any,
        meta_store: Dict[str, Dict[str, Any]],
        payload: Payload,
        stage: str,
    ) -> List[str]:
        """The names that are installed; the others are noted in the dispatcher's meta."""
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            shown = " ".join(repr(names).split())[:100]
            error = f"if_installed is {shown}, expected a list of plugin names"
            self.errors.append(Error(error, dispatcher, payload.payload_id, stage))
            return []
        present = [n for n in names if self.calls.plugins.is_available(n)]
        missing = [n for n in names if n not in present]
        if missing:
            noted = meta_store.setdefault(dispatcher, {}).setdefault("not_installed", [])
            noted.extend(n for n in missing if n not in noted)
            self.calls.notice_not_installed(dispatcher, missing)
        return present

    def _dispatch(self, payload: Payload, is_root: bool) -> List[str]:
        settings = self.settings
        start = payload.payload_meta.dispatch_to
        if start and not (isinstance(start, list) and all(isinstance(n, str) for n in start)):
            try:
                checked_names(start, "payload_meta.dispatch_to")
            except TypeError as exc:
                self.errors.append(
                    Error(str(exc), payload.extracted_by, payload.payload_id, "dispatch")
                )
            start = []
        if not (settings.dispatchers or start or (is_root and self.start_dispatch)):
            return settings.always_dispatch
        asked = (
            self._ask(
                settings.dispatchers,
                DispatcherPlugin,
                "get_dispatches",
                "dispatch",
                payload,
                payload.dispatch_meta,
            )
            if settings.dispatchers
            else []
        )
        return _union(
            start, self.start_dispatch if is_root else None, settings.always_dispatch, asked
        )

    def _deep_dispatch(
        self, payload: Payload, depth: int, is_root: bool, next_level: List[Payload]
    ) -> None:
        for round_number in range(1, self.settings.max_dispatch_passes + 1):
            asked = self._ask(
                self.settings.deep_dispatchers,
                DeepDispatcherPlugin,
                "get_deep_dispatches",
                "deep_dispatch",
                payload,
                payload.deep_dispatch_meta,
            )
            # Workers that ran, and those that could not be used (not listed in plugins_run).
            already = {
                name for round_names in payload.plugins_run["workers"] for name in round_names
            } | {
                e.plugin_name
                for e in self.errors
                if e.payload_id == payload.payload_id and e.stage in ("load", "scan")
            }
            wanted = _union(self.start_deep_dispatch if is_root else None, asked)
            new = [name for name in wanted if name not in already]
            if not new:
                return
            payload.worker_results.append({})
            payload.plugins_run["workers"].append([])
            self._run_workers(payload, new, round_number, depth, next_level)

    def _run_workers(
        self,
        payload: Payload,
        names: List[str],
        round_number: int,
        depth: int,
        next_level: List[Payload],
    ) -> None:
        results = payload.worker_results[round_number]
        ran = payload.plugins_run["workers"][round_number]
        errors, calls, payload_id = self.errors, self.calls, payload.payload_id
        for name in names:
            call = calls.prepare(errors, name, WorkerPlugin, "scan", "scan", payload_id)
            if call is None:  # not run: as in v2, only workers that ran are in plugins_run
                continue
            ran.append(name)
            started = clock()
            cache_key = None if calls.cache is None else calls.cache_key(call)
            if cache_key is not None and self._from_cache(
                payload, name, cache_key, results, depth, next_level
            ):
                add_time(payload.timings, "scan", name, started)
                continue
            errors_before = len(errors)
            response = invoke(
                errors, "scan", payload_id, call, WorkerResponse, payload, self.request_meta
            )
            add_time(payload.timings, "scan", name, started)
            if response is None:
                if cache_key is not None and len(errors) == errors_before:
                    self._to_cache(payload, cache_key, WorkerResponse(), [])
                continue
            try:
                extracted = response.extracted
                if not isinstance(extracted, (list, tuple)):
                    raise TypeError(
                        f"extracted is {type(extracted).__name__}, expected a list of"
                        " ExtractedPayload"
                    )
                if response.results is not None:
                    results[name] = checked_results(response.results)
                reported = (
                    normalise_errors(response.errors, name, payload_id, "scan")
                    if response.errors
                    else []
                )
                errors.extend(reported)
            except Exception as exc:  # noqa: BLE001 - the failure boundary
                unusable(errors, name, payload_id, "scan", exc)
                continue
            if cache_key is not None:
                self._to_cache(payload, cache_key, response, reported)
            for child in extracted:
                self._accept_child(payload, name, child, depth, next_level)

    def _from_cache(
        self,
        payload: Payload,
        name: str,
        cache_key: str,
        results: Dict[str, Any],
        depth: int,
        next_level: List[Payload],
    ) -> bool:
        """Feed a cached answer into the scan as the call would have; False on a miss."""
        entry = self.calls.cache.get(payload.sha256, cache_key)  # type: ignore[union-attr]
        if entry is None:
            return False
        payload.from_cache.append(name)
        if entry.results is not None:
            results[name] = entry.results
        self.errors.extend(entry.errors_for(name, payload.payload_id))
        for child in entry.extracted:
            self._accept_child(payload, name, child, depth, next_level)
        return True

    def _to_cache(
        self, payload: Payload, cache_key: str, response: WorkerResponse, reported: List[Error]
    ) -> None:
        """Store a worker's usable answer (not one whose extracted items were unusable)."""
        extracted = []
        for item in response.extracted:
            if not isinstance(item, (ExtractedPayload, Payload)) or type(item.content) is not bytes:
                return
            extracted.append(ExtractedPayload(item.content, item.payload_meta))
        entry = CacheEntry(response.results, [(e.error, e.stage) for e in reported], extracted)
        self.calls.cache.put(payload.sha256, cache_key, entry)  # type: ignore[union-attr]

    def _archive(self, payload: Payload) -> None:
        for name in self.settings.dest_archivers:
            call = self.calls.prepare(
                self.errors, name, ArchiverPlugin, "archive", "archive", payload.payload_id
            )
            if call is None:
                continue
            payload.plugins_run["archivers"].append(name)
            started = clock()
            response = invoke(
                self.errors,
                "archive",
                payload.payload_id,
                call,
                ArchiverResponse,
                payload,
                self.request_meta,
            )
            add_time(payload.timings, "archive", name, started)
            if response is None:
                continue
            try:
                if response.results is not None:
                    payload.archiver_results[name] = checked_results(response.results)
                self.errors.extend(
                    normalise_errors(response.errors, name, payload.payload_id, "archive")
                )
            except Exception as exc:  # noqa: BLE001 - the failure boundary
                unusable(self.errors, name, payload.payload_id, "archive", exc)

    # -- children and limits -------------------------------------------------------------

    def _accept_child(
        self, parent: Payload, worker: str, extracted: Any, depth: int, next_level: List[Payload]
    ) -> None:
        if not isinstance(extracted, (ExtractedPayload, Payload)):
            self.errors.append(
                Error(
                    f"extracted {type(extracted).__name__}, expected ExtractedPayload",
                    worker,
                    parent.payload_id,
                    "scan",
                )
            )
            return
        try:
            child = Payload(extracted.content, extracted.payload_meta, worker, parent.payload_id)
            child.share_digest(extracted)
            checked_results(child.payload_meta.extra_data)
            sha256 = child.sha256
        except Exception as exc:  # noqa: BLE001 - content or meta of the wrong type
            self.errors.append(
                Error(
                    f"unusable extracted payload: {one_line(exc)}",
                    worker,
                    parent.payload_id,
                    "scan",
                )
            )
            return
        if sha256 in self._seen:
            return
        self._seen.add(sha256)
        size = len(child.content)
        limits = self.settings
        if size > limits.max_payload_size:
            self._limit(parent, worker, child, f"max_payload_size {limits.max_payload_size} bytes")
        elif depth + 1 > limits.max_recursion:
            self._limit(parent, worker, child, f"max_recursion {limits.max_recursion} reached")
        elif self._payload_count >= limits.max_payloads:
            self._limit(parent, worker, child, f"max_payloads {limits.max_payloads} reached")
        elif self._extracted_bytes + size > limits.max_total_bytes:
            self._limit(parent, worker, child, f"max_total_bytes {limits.max_total_bytes} reached")
        else:
            self._payload_count += 1
            self._extracted_bytes += size
            next_level.append(child)

    def _limit(self, parent: Payload, worker: str, child: Payload, reason: str) -> None:
        count = self._limit_hits[reason] = self._limit_hits.get(reason, 0) + 1
        if count <= LIMIT_ERRORS_KEPT:
            self.errors.append(
                Error(
                    f"payload extracted by {worker} (sha256 {child.sha256}, {len(child.content)} bytes)"
                    f" not scanned: {reason}",
                    worker,
                    parent.payload_id,
                    "limit",
                )
            )
