"""The ``summary`` stoQ plugin: the reasons a human should look at this request, worst first."""

from __future__ import annotations

from stoq.data_classes import DecoratorResponse, PayloadResults, StoqResponse
from stoq.plugins import DecoratorPlugin

from .findings import READERS, executable_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Dict, List, Optional

__all__ = ["SummaryPlugin"]

SEVERITIES = ("high", "medium", "low")
#: Workers whose children arrived from outside: an executable among them is worth a look.
CARRIERS = {"email", "decompress", "pdf", "onenote", "ooxml", "ole", "rtf", "iso"}
#: Those whose children keep the sender's file name (pdf and html also extract scripts).
NAMED_CARRIERS = CARRIERS - {"pdf"}
#: What mimetype or yara call an executable.
EXECUTABLE_TYPES = {
    "application/x-dosexec",
    "application/x-msdownload",
    "application/vnd.microsoft.portable-executable",
    "application/x-executable",
    "application/x-sharedlib",
    "application/x-pie-executable",
    "application/x-mach-binary",
}


def _worker_results(result: PayloadResults) -> Dict[str, Any]:
    """Each worker's results on the payload, whatever round it ran in."""
    merged: Dict[str, Any] = {}
    for round_results in result.workers:
        if isinstance(round_results, dict):
            merged.update(round_results)
    return merged


def _filename(result: PayloadResults) -> Optional[str]:
    extra = getattr(result.payload_meta, "extra_data", None) or {}
    name = extra.get("filename") if isinstance(extra, dict) else None
    return name if isinstance(name, str) else None


class SummaryPlugin(DecoratorPlugin):
    """Lists findings across the request, each naming its payload, worker and severity.

    It reads the results of the document, mail and archive workers (olevba, ooxml, ole, rtf,
    pdf, onenote, lnk, decompress, email, html) and notices executables that arrived inside
    an email, archive or document. A worker that did not run, or whose results look
    different, adds nothing: the summary never fails because of another plugin.
    """

    #: Forked consumers may share one started instance (no state).
    fork_safe = True

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {"max_findings": 200}

    def decorate(self, response: StoqResponse) -> Optional[DecoratorResponse]:
        by_id = {result.payload_id: result for result in response.results}
        findings: List[Dict[str, Any]] = []
        for result in response.results:
            workers = _worker_results(result)
            for worker, read in READERS.items():
                results = workers.get(worker)
                if not isinstance(results, dict):
                    continue
                for severity, finding, reason in read(results):
                    findings.append(self._entry(severity, finding, reason, worker, result, by_id))
            executable = self._executable(result, workers, by_id)
            if executable is not None:
                findings.append(executable)
        findings.sort(key=lambda f: SEVERITIES.index(f["severity"]))
        limit = int(self.plugin_opts["max_findings"])
        summary: Dict[str, Any] = {
            "severity": findings[0]["severity"] if findings else None,
            "counts": {s: sum(f["severity"] == s for f in findings) for s in SEVERITIES},
            "findings": findings[:limit],
        }
        if len(findings) > limit:
            summary["findings_omitted"] = len(findings) - limit
        return DecoratorResponse(summary)

    @staticmethod
    def _path(result: PayloadResults, by_id: Dict[str, PayloadResults]) -> List[str]:
        """File names from the root down to the payload (``?`` where one has none)."""
        names: List[str] = []
        seen = set()
        current: Optional[PayloadResults] = result
        while current is not None and current.payload_id not in seen:
            seen.add(current.payload_id)
            names.append(_filename(current) or "?")
            current = by_id.get(current.extracted_from) if current.extracted_from else None
        return names[::-1]

    def _entry(
        self,
        severity: str,
        finding: str,
        reason: str,
        worker: str,
        result: PayloadResults,
        by_id: Dict[str, PayloadResults],
    ) -> Dict[str, Any]:
        return {
            "severity": severity,
            "finding": finding,
            "reason": reason,
            "plugin": worker,
            "payload_id": result.payload_id,
            "filename": _filename(result),
            "path": " > ".join(self._path(result, by_id)),
        }

    def _executable(
        self, result: PayloadResults, workers: Dict[str, Any], by_id: Dict[str, PayloadResults]
    ) -> Optional[Dict[str, Any]]:
        """An executable extracted from mail, an archive or a document."""
        if result.extracted_by not in CARRIERS:
            return None
        mimetype = workers.get("mimetype")
        mime = mimetype.get("mimetype") if isinstance(mimetype, dict) else None
        yara = result.dispatch_meta.get("yara") if isinstance(result.dispatch_meta, dict) else None
        types = {m.get("type") for m in yara.values() if isinstance(m, dict)} if yara else set()
        name = _filename(result)
        if mime in EXECUTABLE_TYPES or types & {"pe", "elf", "macho"}:
            severity, what = "high", f"executable ({mime or ', '.join(sorted(types - {None}))})"
        elif result.extracted_by in NAMED_CARRIERS and executable_name(name):
            severity, what = "medium", "file a double click runs"
        else:
            return None
        reason = f"{what} inside {result.extracted_by} content: {name or result.payload_id}"
        return self._entry(
            severity, "executable_inside", reason, result.extracted_by, result, by_id
        )
