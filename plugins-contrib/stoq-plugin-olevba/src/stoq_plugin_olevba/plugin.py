"""The ``olevba`` stoQ plugin: VBA and Excel 4 (XLM) macros in OLE and OOXML documents."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Dict, List, Optional, Tuple

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from . import keywords, ovba
from .containers import NOT_A_DOCUMENT, Document, NotADocument, describe, open_document
from .encryption import is_encrypted
from .ovba import Source

__all__ = ["OlevbaPlugin"]

log = logging.getLogger(__name__)


class OlevbaPlugin(WorkerPlugin):
    """Reports VBA modules (bounded source), Excel 4 macros, AutoExec triggers, suspicious
    keywords, IOCs and obfuscation counts, as oletools' olevba reports them, with the plugin's
    own readers (oletools needs the GPL-3.0 pcodedmp, so it is not used at run time).

    It reads OLE files (including a bare ``vbaProject.bin``), PowerPoint 97, OOXML, Word 2003
    XML, Flat OPC, MHTML and SLK. Encrypted documents are flagged, not opened.
    """

    #: Typed defaults; a config file's [plugins.olevba] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_modules": 256,
        "max_source_chars": 65536,
        "max_expanded_bytes": 16 * 1024 * 1024,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Read the payload's macros; a document that cannot be read gives an ``error`` field."""
        content = payload.content
        try:
            document = open_document(content, self.plugin_opts["max_expanded_bytes"])
        except NotADocument:
            if b"\x00" not in content:  # olevba would take any text for VBA source
                return WorkerResponse({"container": "Text", "error": NOT_A_DOCUMENT})
            error = f"cannot parse: {NOT_A_DOCUMENT}"
            return WorkerResponse({"error": error}, errors=[error])
        except Exception as exc:  # the container itself is damaged (OLE header, zip directory)
            log.debug("olevba cannot open payload %s", payload.payload_id, exc_info=True)
            return _cannot_parse(exc)
        try:
            return self._report(content, document)
        except Exception as exc:  # olefile raises many kinds on a stream it cannot follow
            log.debug("olevba cannot read payload %s", payload.payload_id, exc_info=True)
            return _cannot_parse(exc)
        finally:
            for _, ole in document.projects:
                ole.close()
            if document.ole is not None:
                document.ole.close()

    def _report(self, content: bytes, document: Document) -> WorkerResponse:
        results: Dict[str, Any] = {
            "container": document.container,
            "encrypted": document.ole is not None and is_encrypted(content, document.ole),
            "vba_macros": bool(document.projects),
            "xlm_macros": bool(document.xlm.sheets),
        }
        errors = list(document.errors)
        limits_hit = list(document.limits_hit)
        if results["vba_macros"] or results["xlm_macros"]:
            results.update(self._macros(document, errors, limits_hit))
        if limits_hit:
            results["limits_hit"] = limits_hit
        if errors:
            results["error"] = "cannot parse: " + "; ".join(errors)
            return WorkerResponse(results, errors=[results["error"]])
        return WorkerResponse(results)

    def _sources(
        self, document: Document, errors: List[str], forms: List[str]
    ) -> List[Tuple[Optional[str], Source]]:
        """Every module of every project, with its part, then the XLM listing as a module;
        the text of the projects' forms goes to ``forms``."""
        limit = self.plugin_opts["max_expanded_bytes"]
        sources: List[Tuple[Optional[str], Source]] = []
        for part, ole in document.projects:
            for root in ovba.project_roots(ole):
                where = f"{part}/{root}" if part else root
                try:
                    sources += [(part, source) for source in ovba.modules(ole, root, limit)]
                except (OSError, ValueError) as exc:
                    errors.append(f"{where}VBA/dir: {describe(exc)}")
                try:
                    forms += ovba.form_strings(ole, root, limit)
                except (OSError, ValueError) as exc:
                    errors.append(f"{where or 'forms'}: {describe(exc)}")
        if document.xlm.sheets:
            sources.append((None, Source("xlm_macro", "xlm_macro.txt", document.xlm.listing())))
        return sources

    def _macros(
        self, document: Document, errors: List[str], limits_hit: List[str]
    ) -> Dict[str, Any]:
        """Modules and the keyword analysis, within the options' bounds (cuts noted in
        ``limits_hit``, failures in ``errors``)."""
        max_modules = self.plugin_opts["max_modules"]
        max_chars = self.plugin_opts["max_source_chars"]
        forms: List[str] = []
        sources = self._sources(document, errors, forms)
        modules: List[Dict[str, Any]] = []
        for part, source in sources:
            if source.error:
                errors.append(f"{source.stream}: {source.error}")
            if source.cut:
                limit = self.plugin_opts["max_expanded_bytes"]
                limits_hit.append(f"max_expanded_bytes {limit}: {source.stream} cut")
            if len(modules) < max_modules:
                modules.append(_module(part, source, max_chars))
        if len(sources) > max_modules:
            skipped = len(sources) - max_modules
            limits_hit.append(f"max_modules {max_modules}: {skipped} more modules not reported")
        if any(m.get("truncated") for m in modules):
            limits_hit.append(f"max_source_chars {max_chars}: source of long modules cut")
        code = "\n".join([*(source.text for _, source in sources), *forms])
        return {"modules": modules, **keywords.analyse(code, xlm=bool(document.xlm.sheets))}


def _cannot_parse(exc: BaseException) -> WorkerResponse:
    error = f"cannot parse: {describe(exc)}"
    return WorkerResponse({"error": error}, errors=[error])


def _module(part: Optional[str], source: Source, max_chars: int) -> Dict[str, Any]:
    """One module as reported: its names, length, part, and source cut to ``max_chars``."""
    module: Dict[str, Any] = {"name": source.name, "stream": source.stream}
    module["chars"] = len(source.text)
    if part is not None:
        module["container"] = part
    module["source"] = source.text[:max_chars]
    if len(source.text) > max_chars:
        module["truncated"] = True
    if source.error:
        module["error"] = source.error
    return module
