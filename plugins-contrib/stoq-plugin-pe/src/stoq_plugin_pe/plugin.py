"""The ``pe`` worker: a Windows executable's structure, what it carries, and who signed it."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional

import pefile

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .authenticode import signatures
from .extract import Limits, overlay, resources
from .structure import describe, guarded, parse_directories

__all__ = ["PePlugin"]


class PePlugin(WorkerPlugin):
    """Headers, sections, imports, exports, resources, overlay, rich header and Authenticode.

    Content without the ``MZ`` signature is not a PE: nothing to report (``None``), so
    ``-a pe`` costs nothing on other payloads. Content that starts like one but whose headers
    pefile cannot find gives one error; a damaged table gives an error naming it, and
    everything else is still reported.
    """

    #: Typed defaults; a config file's [plugins.pe] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "extract_resources": True,
        "extract_overlay": True,
        "max_extracted": 64,
        "max_extracted_size": 16 * 1024 * 1024,
        "max_imports": 10000,
        "max_exports": 10000,
        "authenticode": True,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        options = self.plugin_opts
        content = payload.content
        if not content.startswith(b"MZ"):
            return None
        try:
            pe = pefile.PE(data=content, fast_load=True)
        except pefile.PEFormatError as exc:
            return WorkerResponse(errors=[f"damaged PE headers: {exc}"])
        errors: List[str] = []
        limits = Limits(options["max_extracted"], options["max_extracted_size"])
        try:
            parse_directories(pe, errors)
            results = describe(
                pe, len(content), options["max_imports"], options["max_exports"], errors
            )
            listed = guarded(
                errors, "resources", resources, pe, limits, options["extract_resources"]
            )
            results["resources"], extracted = listed or (None, [])
            results["overlay"], carried = overlay(pe, content, limits, options["extract_overlay"])
        finally:
            pe.close()
        if limits.skipped:
            results["not_extracted"] = limits.skipped
        if options["authenticode"]:
            results["authenticode"] = guarded(errors, "authenticode", signatures, content)
        return WorkerResponse(results, extracted=extracted + carried, errors=errors)
