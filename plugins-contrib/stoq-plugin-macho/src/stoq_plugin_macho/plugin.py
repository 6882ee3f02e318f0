"""The ``macho`` worker: Mach-O files and universal (fat) binaries, slice by slice."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Dict, List, Optional

import lief

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .describe import describe
from .fat import fat_slices

__all__ = ["MachoPlugin"]

_THIN_MAGICS = {bytes.fromhex(m) for m in ("feedface", "feedfacf", "cefaedfe", "cffaedfe")}


class MachoPlugin(WorkerPlugin):
    """Load commands, dylibs, code signature (identifier, ad-hoc, entitlements) of each image.

    A fat binary lists its slices and each slice is extracted as a payload of its own, within
    ``max_slices`` and ``max_slice_size``; what was not extracted is listed with the reason.
    """

    #: Typed defaults; a config file's [plugins.macho] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "extract_slices": True,
        "max_slices": 16,
        "max_slice_size": 256 * 1024 * 1024,
        "max_commands": 500,
        "max_entitlements": 65536,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        content = payload.content
        slices = fat_slices(content)
        if slices is None and content[:4] not in _THIN_MAGICS:
            return None  # another format: nothing to report
        lief.logging.disable()
        with warnings.catch_warnings():
            # LIEF warns for each enum value a hostile header makes up; they are reported as-is.
            warnings.simplefilter("ignore", RuntimeWarning)
            if slices is None:
                return self._thin(content)
            return self._fat(content, slices)

    def _image(self, image: bytes) -> Dict[str, Any]:
        parsed = lief.MachO.parse(image)
        if parsed is None or parsed.size == 0:
            raise ValueError("LIEF cannot read this Mach-O image")
        options = self.plugin_opts
        return describe(parsed.at(0), image, options["max_commands"], options["max_entitlements"])

    def _thin(self, content: bytes) -> WorkerResponse:
        try:
            return WorkerResponse({"fat": False, **self._image(content)})
        except ValueError as exc:
            return WorkerResponse(errors=[str(exc)])

    def _fat(self, content: bytes, slices: List[Any]) -> WorkerResponse:
        options = self.plugin_opts
        listed, extracted, errors = [], [], []
        for index, piece in enumerate(slices):
            image = content[piece.offset : piece.offset + piece.size]
            entry: Dict[str, Any] = {"index": index, "offset": piece.offset, "size": piece.size}
            if len(image) < piece.size:
                entry["truncated_by"] = piece.size - len(image)
            try:
                entry.update(self._image(image))
            except ValueError as exc:
                errors.append(f"slice {index} at offset {piece.offset}: {exc}")
            reason = None
            if index >= options["max_slices"]:
                reason = "max_slices"
            elif piece.size > options["max_slice_size"]:
                reason = "max_slice_size"
            elif not image:
                reason = "outside the file"
            if options["extract_slices"] and reason is None:
                meta = {"macho_slice": {"index": index, "cpu_type": entry.get("cpu_type")}}
                extracted.append(ExtractedPayload(image, PayloadMeta(extra_data=meta)))
            entry["extracted"] = options["extract_slices"] and reason is None
            if reason:
                entry["not_extracted"] = reason
            listed.append(entry)
        return WorkerResponse({"fat": True, "slices": listed}, extracted=extracted, errors=errors)
