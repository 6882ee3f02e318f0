"""The ``pdf`` stoQ plugin: what in a PDF can act on its own, and the files it carries."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .backends import NeedsPassword, open_document
from .walk import walk

__all__ = ["PdfPlugin"]

#: A PDF's header may sit anywhere in its first KiB (as readers accept it).
HEADER_WINDOW = 1024


class PdfPlugin(WorkerPlugin):
    """Reports JavaScript (with when it runs), actions, embedded files, encryption and counts.

    Embedded files, from the document's EmbeddedFiles tree and from FileAttachment annotations
    alike, are extracted as children with their names; so are the scripts, so other workers
    (iocs, yara) read them.
    """

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_objects": 100000,
        "max_extracted": 100,
        "max_script_chars": 65536,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        content = payload.content
        if b"%PDF-" not in content[:HEADER_WINDOW]:
            return WorkerResponse(errors=["not a PDF: no %PDF- header in the first 1024 bytes"])
        try:
            doc, failures = open_document(content)
        except NeedsPassword as exc:
            results = {"encrypted": True, "needs_password": True, "reason": str(exc)}
            return WorkerResponse(results)
        except ValueError as exc:
            return WorkerResponse(errors=[f"cannot parse the PDF: {exc}"])
        found = walk(doc, int(self.plugin_opts["max_objects"]), self._max_script_chars())
        results: Dict[str, Any] = {
            "backend": doc.backend,
            "version": doc.version,
            "encrypted": doc.encryption is not None,
            "encryption": doc.encryption,
            "objects": doc.objects if doc.objects is not None else found.objects,
            "objects_reachable": found.objects,
            "streams": found.streams,
            "annotations": found.annotations,
            "javascript": found.javascript,
            "javascript_on_open": any(js["on_open"] for js in found.javascript),
            "actions": found.actions,
            "embedded_files": [meta for meta, _ in found.files],
        }
        skipped = self._skipped(found.truncated)
        if failures:
            results["backend_failures"] = failures
        if doc.warnings:
            results["warnings"] = doc.warnings[:20]
        extracted = self._extract(found, skipped)
        if skipped:
            results["skipped"] = skipped
        return WorkerResponse(results, extracted=extracted)

    def _max_script_chars(self) -> int:
        return int(self.plugin_opts["max_script_chars"])

    def _skipped(self, truncated: bool) -> List[str]:
        if not truncated:
            return []
        return [f"objects beyond max_objects ({self.plugin_opts['max_objects']}) not read"]

    def _extract(self, found: Any, skipped: List[str]) -> List[ExtractedPayload]:
        """Embedded files first, then scripts, at most ``max_extracted`` in all."""
        limit = int(self.plugin_opts["max_extracted"])
        children = [
            ExtractedPayload(content, PayloadMeta(extra_data=dict(meta)))
            for meta, content in found.files
        ]
        for index, script in enumerate(found.javascript, 1):
            extra = {"filename": f"javascript-{index}.js", "trigger": script["trigger"]}
            children.append(
                ExtractedPayload(script["source"].encode("utf-8"), PayloadMeta(extra_data=extra))
            )
        if len(children) > limit:
            skipped.append(
                f"{len(children) - limit} files and scripts beyond max_extracted ({limit}) not extracted"
            )
        return children[:limit]
