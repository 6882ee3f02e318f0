"""What pefile reads from a PE's headers and tables, as plain JSON values."""

from __future__ import annotations

import datetime
from typing import Any, Callable, Dict, List, Optional

import pefile

__all__ = ["describe", "directory", "guarded", "parse_directories"]

#: The data directories read, each on its own so a corrupt one does not hide the others.
_DIRECTORIES = ("IMPORT", "DELAY_IMPORT", "EXPORT", "RESOURCE", "TLS", "DEBUG")


def guarded(errors: List[str], part: str, read: Callable[..., Any], *args: Any) -> Any:
    """``read(*args)``, or None with one line in ``errors`` when that part is too damaged.

    A hostile PE often breaks one table and leaves the rest readable; the rest is still
    reported and the broken part is named.
    """
    try:
        return read(*args)
    except Exception as exc:  # noqa: BLE001 - pefile raises many types on corrupt tables
        errors.append(f"{part}: {type(exc).__name__}: {exc}")
        return None


def parse_directories(pe: pefile.PE, errors: List[str]) -> None:
    """Parse the data directories one by one after a fast header-only load."""
    for name in _DIRECTORIES:
        index = pefile.DIRECTORY_ENTRY[f"IMAGE_DIRECTORY_ENTRY_{name}"]
        guarded(errors, name.lower(), pe.parse_data_directories, [index])


def directory(pe: pefile.PE, name: str) -> Optional[Any]:
    """A data directory entry, or None when the header declares fewer directories."""
    entries = pe.OPTIONAL_HEADER.DATA_DIRECTORY
    index = pefile.DIRECTORY_ENTRY[f"IMAGE_DIRECTORY_ENTRY_{name}"]
    return entries[index] if index < len(entries) else None


def _text(value: Any) -> Optional[str]:
    """pefile gives names as bytes (or None); JSON wants text, kept readable if not UTF-8."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _flags(names: Dict[str, int], value: int, prefix: str) -> List[str]:
    return [name[len(prefix) :] for name, bit in names.items() if bit and value & bit == bit]


def _timestamp(value: int) -> Dict[str, Any]:
    stamp = datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    return {"value": value, "utc": stamp.isoformat()}


def _headers(pe: pefile.PE) -> Dict[str, Any]:
    header, optional = pe.FILE_HEADER, pe.OPTIONAL_HEADER
    machine = pefile.MACHINE_TYPE.get(header.Machine, hex(header.Machine))
    subsystem = pefile.SUBSYSTEM_TYPE.get(optional.Subsystem, str(optional.Subsystem))
    return {
        "machine": machine.replace("IMAGE_FILE_MACHINE_", ""),
        "is_64bit": optional.Magic == pefile.OPTIONAL_HEADER_MAGIC_PE_PLUS,
        "is_dll": pe.is_dll(),
        "is_driver": pe.is_driver(),
        "timestamp": _timestamp(header.TimeDateStamp),
        "subsystem": subsystem.replace("IMAGE_SUBSYSTEM_", ""),
        "characteristics": _flags(
            dict(pefile.image_characteristics), header.Characteristics, "IMAGE_FILE_"
        ),
        "dll_characteristics": _flags(
            dict(pefile.dll_characteristics),
            optional.DllCharacteristics,
            "IMAGE_DLLCHARACTERISTICS_",
        ),
        "entry_point": optional.AddressOfEntryPoint,
        "image_base": optional.ImageBase,
        "checksum": optional.CheckSum,
    }


def _sections(pe: pefile.PE) -> List[Dict[str, Any]]:
    return [
        {
            "name": _text(section.Name.rstrip(b"\0")),
            "virtual_address": section.VirtualAddress,
            "virtual_size": section.Misc_VirtualSize,
            "raw_offset": section.PointerToRawData,
            "raw_size": section.SizeOfRawData,
            "entropy": round(section.get_entropy(), 4),
            "characteristics": _flags(
                dict(pefile.section_characteristics), section.Characteristics, "IMAGE_SCN_"
            ),
        }
        for section in pe.sections
    ]


def _imports(pe: pefile.PE, limit: int, skipped: Dict[str, int]) -> Dict[str, List[str]]:
    """DLL → imported names (``ordinal:N`` when imported by number), at most ``limit`` in all."""
    found: Dict[str, List[str]] = {}
    count = 0
    entries = getattr(pe, "DIRECTORY_ENTRY_IMPORT", []) + getattr(
        pe, "DIRECTORY_ENTRY_DELAY_IMPORT", []
    )
    for entry in entries:
        names = found.setdefault(_text(entry.dll) or "", [])
        for symbol in entry.imports:
            if count >= limit:
                skipped["imports"] = skipped.get("imports", 0) + 1
                continue
            names.append(_text(symbol.name) or f"ordinal:{symbol.ordinal}")
            count += 1
    return found


def _exports(pe: pefile.PE, limit: int, skipped: Dict[str, int]) -> Optional[Dict[str, Any]]:
    directory = getattr(pe, "DIRECTORY_ENTRY_EXPORT", None)
    if directory is None:
        return None
    symbols = directory.symbols
    if len(symbols) > limit:
        skipped["exports"] = len(symbols) - limit
    return {
        "dll_name": _text(pe.get_string_at_rva(directory.struct.Name)),
        "timestamp": _timestamp(directory.struct.TimeDateStamp),
        "functions": [
            {"ordinal": s.ordinal, "name": _text(s.name), "address": s.address}
            for s in symbols[:limit]
        ],
    }


def _version_info(pe: pefile.PE) -> Dict[str, str]:
    """The StringFileInfo entries (CompanyName, FileVersion, ...) of every string table."""
    found: Dict[str, str] = {}
    for info in getattr(pe, "FileInfo", []):
        for entry in info:
            for table in getattr(entry, "StringTable", []):
                for key, value in table.entries.items():
                    found[_text(key) or ""] = _text(value) or ""
    return found


def _rich_header(pe: pefile.PE) -> Optional[Dict[str, Any]]:
    """The linker's tool records: (product id, build) pairs and how many objects each built."""
    rich = pe.parse_rich_header()
    if not rich:
        return None
    values = rich["values"]
    return {
        "checksum": rich["checksum"],
        "entries": [
            {"product_id": comp >> 16, "build": comp & 0xFFFF, "count": count}
            for comp, count in zip(values[::2], values[1::2])
        ],
    }


def _tls_callbacks(pe: pefile.PE, limit: int) -> List[int]:
    """Virtual addresses of TLS callbacks: code that runs before the entry point."""
    tls = getattr(pe, "DIRECTORY_ENTRY_TLS", None)
    if tls is None or not tls.struct.AddressOfCallBacks:
        return []
    width = 8 if pe.OPTIONAL_HEADER.Magic == pefile.OPTIONAL_HEADER_MAGIC_PE_PLUS else 4
    rva = tls.struct.AddressOfCallBacks - pe.OPTIONAL_HEADER.ImageBase
    callbacks: List[int] = []
    for index in range(limit):
        raw = pe.get_data(rva + index * width, width)
        address = int.from_bytes(raw, "little") if len(raw) == width else 0
        if not address:
            break
        callbacks.append(address)
    return callbacks


def _truncated_by(pe: pefile.PE, size: int) -> int:
    """How far the sections or the certificate table reach past the real end (0 if not)."""
    ends = [s.PointerToRawData + s.SizeOfRawData for s in pe.sections]
    security = directory(pe, "SECURITY")
    if security is not None and security.Size:
        ends.append(security.VirtualAddress + security.Size)
    return max(0, max(ends, default=0) - size)


def describe(
    pe: pefile.PE, size: int, max_imports: int, max_exports: int, errors: List[str]
) -> Dict[str, Any]:
    """Everything but resources, overlay and signatures (those have modules of their own)."""
    skipped: Dict[str, int] = {}
    clr = directory(pe, "COM_DESCRIPTOR")
    results: Dict[str, Any] = {
        **_headers(pe),
        "sections": guarded(errors, "sections", _sections, pe),
        "imphash": guarded(errors, "imphash", pe.get_imphash) or None,
        "imports": guarded(errors, "imports", _imports, pe, max_imports, skipped),
        "exports": guarded(errors, "exports", _exports, pe, max_exports, skipped),
        "version_info": guarded(errors, "version_info", _version_info, pe),
        "rich_header": guarded(errors, "rich_header", _rich_header, pe),
        "tls_callbacks": guarded(errors, "tls", _tls_callbacks, pe, max_exports),
        "dotnet": bool(clr is not None and clr.VirtualAddress and clr.Size),
        "truncated_by": _truncated_by(pe, size),
        "warnings": [str(w) for w in pe.get_warnings()[:50]],
    }
    if skipped:
        results["skipped"] = skipped
    return results
