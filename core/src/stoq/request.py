"""One request's scan loop: breadth-first levels, dispatch, workers, deep dispatch, archive.

``ScanRequest`` holds what belongs to a single request (seen hashes, budgets, errors,
results) so the ``Stoq`` object itself stays free of per-request state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set

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
from stoq.invoke import invoke, normalise_errors, one_line
from stoq.plugins import ArchiverPlugin, DeepDispatcherPlugin, DispatcherPlugin, WorkerPlugin

if TYPE_CHECKING:
    from stoq.core import Stoq

__all__ = ["ScanRequest"]

#: Individual limit errors kept per request and limit; further ones are counted in one record.
LIMIT_ERRORS_KEPT = 100


def _union(*groups: Any) -> List[str]:
    """Ordered union without duplicates (dict keys keep insertion order)."""
    merged: Dict[str, None] = {}
    for group in groups:
        if group:
            merged.update(dict.fromkeys(group))
    return list(merged)


class ScanRequest:
    """Scans one root payload and everything extracted from it."""

    def __init__(
        self,
        stoq: Stoq,
        request_meta: RequestMeta,
        add_start_dispatch: Optional[List[str]] = None,
        add_start_deep_dispatch: Optional[List[str]] = None,
    ) -> None:
        self.stoq = stoq
        self.settings = stoq.settings
        self.request_meta = request_meta
        self.add_start_dispatch = add_start_dispatch or []
        self.add_start_deep_dispatch = add_start_deep_dispatch or []
        self.errors: List[Error] = []
        self.results: List[PayloadResults] = []
        self._seen: Set[str] = set()
        self._payload_count = 0
        self._extracted_bytes = 0
        self._limit_hits: Dict[str, int] = {}

    def run(self, root: Payload) -> None:
        self._seen.add(root.sha256)
        self._payload_count = 1
        level, depth = [root], 0
        while level:
            next_level: List[Payload] = []
            for payload in level:
                self._process(payload, depth, payload is root, next_level)
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

    # -- one payload -------------------------------------------------------------------

    def _process(
        self, payload: Payload, depth: int, is_root: bool, next_level: List[Payload]
    ) -> None:
        self.results.append(PayloadResults.from_payload(payload))
        if payload.payload_meta.should_scan:
            workers = self._dispatch(payload, is_root)
            self._run_workers(payload, workers, 0, depth, next_level)
            if self.stoq.deep_dispatchers or (is_root and self.add_start_deep_dispatch):
                self._deep_dispatch(payload, depth, is_root, next_level)
        if (
            self.stoq.dest_archivers
            and self.request_meta.archive_payloads
            and payload.payload_meta.should_archive
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
            call = self.stoq.call_for(self.errors, name, role, method, stage, payload.payload_id)
            if call is None:
                continue
            response = invoke(
                self.errors,
                stage,
                payload.payload_id,
                call,
                DispatcherResponse,
                payload,
                self.request_meta,
            )
            if response is None:
                continue
            if response.meta:
                meta_store.setdefault(name, {}).update(response.meta)
            if response.errors:
                self.errors.extend(
                    normalise_errors(response.errors, name, payload.payload_id, stage)
                )
            wanted.extend(response.plugin_names)
            optional = getattr(response, "if_installed", None)
            if optional:
                wanted.extend(self._installed(name, optional, meta_store, payload, stage))
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
        present = [n for n in names if self.stoq.plugins.is_available(n)]
        missing = [n for n in names if n not in present]
        if missing:
            noted = meta_store.setdefault(dispatcher, {}).setdefault("not_installed", [])
            noted.extend(n for n in missing if n not in noted)
            self.stoq.notice_not_installed(dispatcher, missing)
        return present

    def _dispatch(self, payload: Payload, is_root: bool) -> List[str]:
        stoq = self.stoq
        start = payload.payload_meta.dispatch_to
        if not (stoq.dispatchers or start or (is_root and self.add_start_dispatch)):
            return stoq.always_dispatch  # the common case: nothing to merge
        asked = (
            self._ask(
                stoq.dispatchers,
                DispatcherPlugin,
                "get_dispatches",
                "dispatch",
                payload,
                payload.dispatch_meta,
            )
            if stoq.dispatchers
            else []
        )
        return _union(
            start, self.add_start_dispatch if is_root else None, stoq.always_dispatch, asked
        )

    def _deep_dispatch(
        self, payload: Payload, depth: int, is_root: bool, next_level: List[Payload]
    ) -> None:
        for round_number in range(1, self.settings.max_dispatch_passes + 1):
            asked = self._ask(
                self.stoq.deep_dispatchers,
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
            wanted = _union(self.add_start_deep_dispatch if is_root else None, asked)
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
        errors, call_for, payload_id = self.errors, self.stoq.call_for, payload.payload_id
        for name in names:
            call = call_for(errors, name, WorkerPlugin, "scan", "scan", payload_id)
            if call is None:  # not run: as in v2, only workers that ran are in plugins_run
                continue
            ran.append(name)
            response = invoke(
                errors, "scan", payload_id, call, WorkerResponse, payload, self.request_meta
            )
            if response is None:
                continue
            if response.results is not None:
                results[name] = response.results
            if response.errors:
                errors.extend(normalise_errors(response.errors, name, payload_id, "scan"))
            for extracted in response.extracted:
                self._accept_child(payload, name, extracted, depth, next_level)

    def _archive(self, payload: Payload) -> None:
        for name in self.stoq.dest_archivers:
            call = self.stoq.call_for(
                self.errors, name, ArchiverPlugin, "archive", "archive", payload.payload_id
            )
            if call is None:
                continue
            payload.plugins_run["archivers"].append(name)
            response = invoke(
                self.errors,
                "archive",
                payload.payload_id,
                call,
                ArchiverResponse,
                payload,
                self.request_meta,
            )
            if response is None:
                continue
            if response.results is not None:
                payload.archiver_results[name] = response.results
            if response.errors:
                self.errors.extend(
                    normalise_errors(response.errors, name, payload.payload_id, "archive")
                )

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
        except Exception as exc:  # noqa: BLE001 - e.g. content that is neither bytes nor str
            self.errors.append(Error(one_line(exc), worker, parent.payload_id, "scan"))
            return
        if child.sha256 in self._seen:
            return
        self._seen.add(child.sha256)
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
