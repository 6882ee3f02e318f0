"""The ``olevba`` stoQ plugin: VBA and Excel 4 (XLM) macros in OLE and OOXML documents."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Dict, List, Optional

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .quiet import library_warnings_silenced

with library_warnings_silenced():
    from oletools.crypto import is_encrypted
    from oletools.olevba import VBA_Parser

__all__ = ["OlevbaPlugin"]

log = logging.getLogger(__name__)

#: olevba container types this plugin reports on; "Text" (a bare VBA source file) is not one.
DOCUMENT_TYPES = {"OLE", "OpenXML", "Word2003_XML", "FlatOPC_XML", "MHTML", "PPT", "SLK"}
NOT_A_DOCUMENT = "not an OLE, OOXML, Word/Excel 2003 XML, MHTML or SLK document"
#: olevba's analysis types that count obfuscated strings, and the name each gets here.
OBFUSCATION = {
    "Hex String": "hex_strings",
    "Base64 String": "base64_strings",
    "Dridex string": "dridex_strings",
    "VBA string": "vba_strings",
}


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class OlevbaPlugin(WorkerPlugin):
    """Reports VBA modules (bounded source), Excel 4 macros, AutoExec triggers, suspicious
    keywords, IOCs and obfuscation counts, as oletools' olevba finds them.

    olevba reads OLE files (including a bare ``vbaProject.bin``), OOXML (the project inside the
    zip), Word 2003 XML, Flat OPC, MHTML and SLK. Encrypted documents are flagged, not opened.
    """

    #: Typed defaults; a config file's [plugins.olevba] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_modules": 256,
        "max_source_chars": 65536,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Parse the payload with olevba; a document it cannot read gives an ``error`` field."""
        try:
            with library_warnings_silenced():
                return self._analyse(payload.content)
        except Exception as exc:  # oletools raises many kinds on corrupt input
            log.debug("olevba failed on payload %s", payload.payload_id, exc_info=True)
            error = f"cannot parse: {_describe(exc)}"
            return WorkerResponse({"error": error}, errors=[error])

    def _analyse(self, content: bytes) -> WorkerResponse:
        parser = VBA_Parser("payload", data=content)
        # olevba checks VBA stomping (with the GPL pcodedmp) only for files on disk; in memory it
        # logs a warning per document instead. Say "not checked" up front, quietly.
        parser.vba_stomping_detected = False
        try:
            if parser.type not in DOCUMENT_TYPES:
                return WorkerResponse({"container": parser.type, "error": NOT_A_DOCUMENT})
            results: Dict[str, Any] = {
                "container": parser.type,
                "encrypted": parser.ole_file is not None and bool(is_encrypted(parser.ole_file)),
                "vba_macros": bool(parser.detect_vba_macros()),
                "xlm_macros": bool(parser.detect_xlm_macros()),
            }
            if results["vba_macros"] or results["xlm_macros"]:
                results.update(self._macros(parser))
            return WorkerResponse(results)
        finally:
            parser.close()

    def _macros(self, parser: Any) -> Dict[str, Any]:
        """Modules and the keyword analysis, within ``max_modules`` and ``max_source_chars``."""
        max_modules = self.plugin_opts["max_modules"]
        max_chars = self.plugin_opts["max_source_chars"]
        modules: List[Dict[str, Any]] = []
        limits_hit: List[str] = []
        skipped = 0
        for container, stream, name, code in parser.extract_macros():
            if len(modules) >= max_modules:
                skipped += 1
                continue
            source = code if isinstance(code, str) else code.decode("utf-8", "replace")
            module: Dict[str, Any] = {"name": name, "stream": stream, "chars": len(source)}
            if container not in (None, "payload", stream):
                module["container"] = container
            module["source"] = source[:max_chars]
            if len(source) > max_chars:
                module["truncated"] = True
            modules.append(module)
        if skipped:
            limits_hit.append(f"max_modules {max_modules}: {skipped} more modules not reported")
        if any(m.get("truncated") for m in modules):
            limits_hit.append(f"max_source_chars {max_chars}: source of long modules cut")
        found: Dict[str, Any] = {"modules": modules, **_keywords(parser.analyze_macros() or [])}
        if limits_hit:
            found["limits_hit"] = limits_hit
        return found


def _keywords(analysis: List[Any]) -> Dict[str, Any]:
    """olevba's (type, keyword, description) rows, grouped by what an analyst looks for."""
    autoexec: List[Dict[str, str]] = []
    suspicious: List[Dict[str, str]] = []
    iocs: List[Dict[str, str]] = []
    obfuscation = dict.fromkeys(OBFUSCATION.values(), 0)
    for kind, keyword, description in analysis:
        if kind == "AutoExec":
            autoexec.append({"keyword": keyword, "description": description})
        elif kind == "Suspicious":
            suspicious.append({"keyword": keyword, "description": description})
        elif kind == "IOC":
            iocs.append({"type": description, "value": keyword})
        elif kind in OBFUSCATION:
            obfuscation[OBFUSCATION[kind]] += 1
    return {
        "autoexec": autoexec,
        "suspicious": suspicious,
        "iocs": iocs,
        "obfuscation": obfuscation,
    }
