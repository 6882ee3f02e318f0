"""Resources and the overlay: listed always, extracted as payloads within the plugin's limits."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

import pefile

from stoq.data_classes import ExtractedPayload, PayloadMeta

from .structure import directory

__all__ = ["Limits", "overlay", "resources"]


class Limits:
    """How many resources and how many bytes one PE may add to the request."""

    def __init__(self, max_count: int, max_size: int) -> None:
        self.max_count = max_count
        self.max_size = max_size
        self.count = 0
        self.skipped: List[Dict[str, Any]] = []

    def admit(self, what: str, size: int) -> bool:
        """Whether one more payload of ``size`` bytes fits; what does not is remembered."""
        if self.count >= self.max_count:
            self.skipped.append({"what": what, "size": size, "reason": "max_extracted"})
            return False
        if size > self.max_size:
            self.skipped.append({"what": what, "size": size, "reason": "max_extracted_size"})
            return False
        self.count += 1
        return True

    def unreadable(self, what: str, size: int, reason: str) -> None:
        """An admitted payload whose bytes could not be read: it no longer counts."""
        self.count -= 1
        self.skipped.append({"what": what, "size": size, "reason": reason})


def _label(entry: Any) -> str:
    if entry.name is not None:
        return str(entry.name)
    return str(entry.id)


def _leaves(pe: pefile.PE) -> Iterator[Tuple[str, str, Any]]:
    """(type, name, language entry) for every resource, in directory order."""
    root = getattr(pe, "DIRECTORY_ENTRY_RESOURCE", None)
    for kind in root.entries if root is not None else []:
        type_name = _label(kind) if kind.name else pefile.RESOURCE_TYPE.get(kind.id, str(kind.id))
        for named in getattr(getattr(kind, "directory", None), "entries", []):
            for language in getattr(getattr(named, "directory", None), "entries", []):
                if hasattr(language, "data"):
                    yield type_name, _label(named), language


def resources(
    pe: pefile.PE, limits: Limits, extract: bool
) -> Tuple[List[Dict[str, Any]], List[ExtractedPayload]]:
    """Each resource's type, name, language, offset and size; its bytes when admitted."""
    listed: List[Dict[str, Any]] = []
    extracted: List[ExtractedPayload] = []
    for type_name, name, language in _leaves(pe):
        rva, size = language.data.struct.OffsetToData, language.data.struct.Size
        entry = {
            "type": type_name,
            "name": name,
            "language": language.data.lang,
            "sublanguage": language.data.sublang,
            "offset": pe.get_offset_from_rva(rva),
            "size": size,
        }
        listed.append(entry)
        what = f"resource {type_name}/{name}"
        if extract and size and limits.admit(what, size):
            try:
                data = pe.get_data(rva, size)
            except pefile.PEFormatError as exc:  # an RVA outside the image: this one only
                limits.unreadable(what, size, str(exc))
                continue
            meta = {"pe_resource": {k: entry[k] for k in ("type", "name", "language")}}
            extracted.append(ExtractedPayload(data, PayloadMeta(extra_data=meta)))
    return listed, extracted


def _overlay_start(pe: pefile.PE, size: int) -> Optional[int]:
    """Where data past the last section begins, not counting an Authenticode table at the end.

    The certificate table is addressed by file offset and usually sits after the sections,
    where pefile counts it as overlay; it is the signature, reported by its own module.
    """
    start = pe.get_overlay_data_start_offset()
    if start is None:
        return None
    security = directory(pe, "SECURITY")
    if security is not None and security.VirtualAddress == start and security.Size:
        start = start + security.Size
        start += -start % 8  # the table is padded to eight bytes
    return start if start < size else None


def overlay(
    pe: pefile.PE, content: bytes, limits: Limits, extract: bool
) -> Tuple[Optional[Dict[str, Any]], List[ExtractedPayload]]:
    """The overlay's offset and size, and its bytes as a payload when admitted."""
    start = _overlay_start(pe, len(content))
    if start is None:
        return None, []
    data = content[start:]
    if extract and limits.admit("overlay", len(data)):
        meta = PayloadMeta(extra_data={"pe_overlay": {"offset": start}})
        return {"offset": start, "size": len(data)}, [ExtractedPayload(data, meta)]
    return {"offset": start, "size": len(data)}, []
