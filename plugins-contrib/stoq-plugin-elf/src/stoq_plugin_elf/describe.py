"""An ELF binary as LIEF reads it, turned into plain JSON values."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Dict, List, Optional

import lief

__all__ = ["describe", "entropy"]

#: Above this a loadable segment is most likely compressed or encrypted code.
_PACKED_ENTROPY = 7.2


def entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte (0 for nothing)."""
    size = len(data)
    return -sum(n / size * math.log2(n / size) for n in Counter(data).values()) if size else 0.0


def _name(value: Any) -> str:
    """LIEF enums print as ``TYPE.NAME``; the last part is what readelf users know."""
    return str(value).rsplit(".", 1)[-1]


def _text(owner: Any, attribute: str) -> Any:
    """A name LIEF decodes as UTF-8; None when a hostile file's bytes are not UTF-8."""
    try:
        return getattr(owner, attribute)
    except UnicodeDecodeError:
        return None


def _interpreter(binary: lief.ELF.Binary, content: bytes) -> Optional[str]:
    """The PT_INTERP path, read from the file so any bytes can be shown."""
    for segment in binary.segments:
        if segment.type == lief.ELF.Segment.TYPE.INTERP:
            raw = content[segment.file_offset : segment.file_offset + segment.physical_size]
            return raw.split(b"\0", 1)[0].decode("utf-8", "backslashreplace")
    return None


def _build_id(binary: lief.ELF.Binary) -> Optional[str]:
    for note in binary.notes:
        if note.type == lief.ELF.Note.TYPE.GNU_BUILD_ID:
            return bytes(note.description).hex()
    return None


def _sections(binary: lief.ELF.Binary, content: bytes, limit: int) -> List[Dict[str, Any]]:
    found = []
    for section in list(binary.sections)[:limit]:
        nobits = section.type == lief.ELF.Section.TYPE.NOBITS
        raw = b"" if nobits else content[section.offset : section.offset + section.size]
        found.append(
            {
                "name": _text(section, "name"),
                "type": _name(section.type),
                "offset": section.offset,
                "size": section.size,
                "entropy": round(entropy(raw), 4),
            }
        )
    return found


def _segments(binary: lief.ELF.Binary, content: bytes, limit: int) -> List[Dict[str, Any]]:
    found = []
    for segment in list(binary.segments)[:limit]:
        start, size = segment.file_offset, segment.physical_size
        found.append(
            {
                "type": _name(segment.type),
                "flags": "".join(
                    letter if segment.has(getattr(lief.ELF.Segment.FLAGS, letter)) else "-"
                    for letter in "RWX"
                ),
                "offset": start,
                "size": size,
                "virtual_address": segment.virtual_address,
                "entropy": round(entropy(content[start : start + size]), 4),
            }
        )
    return found


def _symbols(binary: lief.ELF.Binary, limit: int) -> Dict[str, Any]:
    """Named symbols, dynamic ones first; how many there were in all."""
    named = []
    for symbol in [*binary.dynamic_symbols, *binary.symtab_symbols]:
        name = _text(symbol, "name")
        if name:
            named.append((name, symbol))
    return {
        "count": len(named),
        "names": [
            {"name": name, "type": _name(s.type), "binding": _name(s.binding)}
            for name, s in named[:limit]
        ],
    }


def _packed_hints(
    binary: lief.ELF.Binary, content: bytes, segments: List[Dict[str, Any]]
) -> List[str]:
    """Reasons to think the code is compressed or encrypted; none is proof on its own."""
    hints = []
    if b"UPX!" in content[:4096] or b"UPX!" in content[-4096:]:
        hints.append("UPX marker")
    if not list(binary.sections):
        hints.append("no section headers")
    if any(s["type"] == "LOAD" and s["entropy"] > _PACKED_ENTROPY for s in segments):
        hints.append(f"loadable segment with entropy above {_PACKED_ENTROPY}")
    return hints


def describe(
    binary: lief.ELF.Binary, content: bytes, max_symbols: int, max_sections: int
) -> Dict[str, Any]:
    header = binary.header
    segments = _segments(binary, content, max_sections)
    sections = _sections(binary, content, max_sections)
    return {
        "class": _name(header.identity_class),
        "endianness": _name(header.identity_data),
        "os_abi": _name(header.identity_os_abi),
        "machine": _name(header.machine_type),
        "type": _name(header.file_type),
        "entry_point": header.entrypoint,
        "pie": binary.is_pie,
        "nx": binary.has_nx,
        "interpreter": _interpreter(binary, content),
        "needed": list(_text(binary, "libraries") or []),
        "build_id": _build_id(binary),
        "sections": sections,
        "segments": segments,
        "symbols": _symbols(binary, max_symbols),
        "packed_hints": _packed_hints(binary, content, segments),
        "not_listed": {
            "sections": max(0, len(binary.sections) - max_sections),
            "segments": max(0, len(binary.segments) - max_sections),
        },
    }
