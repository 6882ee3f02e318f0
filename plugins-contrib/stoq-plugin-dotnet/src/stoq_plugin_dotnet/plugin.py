"""The ``dotnet`` worker: a .NET assembly's identity, what it references and what it carries."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional

import dnfile
import pefile

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .metadata import describe, part

__all__ = ["DotnetPlugin"]

_CLR = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR"]


class DotnetPlugin(WorkerPlugin):
    """Assembly name and version, references, P/Invoke modules, resources, type/method counts.

    The default profile runs it on a PE whose ``pe`` results say ``dotnet: true`` (the
    ``results`` rule ``dotnet-clr-header``). Embedded resources, a common hiding place for a
    second stage, are extracted within ``max_extracted`` and ``max_extracted_size``.
    """

    #: Typed defaults; a config file's [plugins.dotnet] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "extract_resources": True,
        "max_extracted": 64,
        "max_extracted_size": 16 * 1024 * 1024,
        "max_listed": 1000,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        options = self.plugin_opts
        if not payload.content.startswith(b"MZ"):
            return None  # not a PE: nothing to report
        try:
            # Headers and the CLR directory only: the rest of the PE is the pe worker's job.
            pe = dnfile.dnPE(data=payload.content, fast_load=True)
        except pefile.PEFormatError as exc:
            return WorkerResponse(errors=[f"damaged PE headers: {exc}"])
        errors: List[str] = []
        try:
            part(
                errors, "CLR metadata", lambda: pe.parse_data_directories(directories=[_CLR]), None
            )
            clr = (
                pe.OPTIONAL_HEADER.DATA_DIRECTORY[_CLR]
                if len(pe.OPTIONAL_HEADER.DATA_DIRECTORY) > _CLR
                else None
            )
            if clr is None or not clr.VirtualAddress:
                return None  # a native PE: not an assembly
            if getattr(pe, "net", None) is None or pe.net.mdtables is None:
                errors.append("CLR header present but its .NET metadata is unreadable")
                return WorkerResponse(errors=errors)
            results = describe(pe.net, options["max_listed"], errors)
        finally:
            pe.close()
        extracted = self._resources(pe.net, results) if options["extract_resources"] else []
        return WorkerResponse(results, extracted=extracted, errors=errors)

    def _resources(self, net: Any, results: Dict[str, Any]) -> List[ExtractedPayload]:
        """Embedded resources as payloads, within the limits; what was left out is listed."""
        extracted: List[ExtractedPayload] = []
        skipped: List[Dict[str, Any]] = []
        for entry, resource in zip(results["resources"], net.resources or []):
            data = resource.data if isinstance(resource.data, bytes) else None
            if not data:
                continue
            if len(extracted) >= self.plugin_opts["max_extracted"]:
                skipped.append({"name": entry["name"], "reason": "max_extracted"})
            elif len(data) > self.plugin_opts["max_extracted_size"]:
                skipped.append({"name": entry["name"], "reason": "max_extracted_size"})
            else:
                meta = PayloadMeta(extra_data={"filename": entry["name"], "dotnet_resource": True})
                extracted.append(ExtractedPayload(data, meta))
        if skipped:
            results["not_extracted"] = skipped
        return extracted
