"""One Mach-O image (a thin file or one slice of a fat one), as LIEF reads it."""

from __future__ import annotations

from typing import Any, Dict, Optional

import lief

from .signature import read_signature

__all__ = ["describe"]


def _name(value: Any) -> str:
    return str(value).rsplit(".", 1)[-1]


def _uuid(binary: lief.MachO.Binary) -> Optional[str]:
    return bytes(binary.uuid.uuid).hex() if binary.has_uuid else None


def _platform(binary: lief.MachO.Binary) -> Optional[Dict[str, Any]]:
    if binary.has_build_version:
        version = binary.build_version
        return {"platform": _name(version.platform), "minos": ".".join(map(str, version.minos))}
    if binary.has_version_min:
        return {"platform": None, "minos": ".".join(map(str, binary.version_min.version))}
    return None


def describe(
    binary: lief.MachO.Binary, image: bytes, max_commands: int, max_entitlements: int
) -> Dict[str, Any]:
    """CPU, type, load commands, dylibs, segments, and the code signature with entitlements."""
    header = binary.header
    commands = list(binary.commands)
    signature = None
    if binary.has_code_signature:
        blob = binary.code_signature
        data = image[blob.data_offset : blob.data_offset + blob.data_size]
        signature = {"offset": blob.data_offset, **read_signature(data, max_entitlements)}
    return {
        "cpu_type": _name(header.cpu_type),
        "file_type": _name(header.file_type),
        "flags": [_name(flag) for flag in header.flags_list],
        "uuid": _uuid(binary),
        "platform": _platform(binary),
        "entry_point": binary.entrypoint if binary.has_entrypoint else None,
        "load_commands": [_name(c.command) for c in commands[:max_commands]],
        "load_commands_not_listed": max(0, len(commands) - max_commands),
        "dylibs": [library.name for library in binary.libraries],
        "rpaths": [rpath.path for rpath in binary.rpaths],
        "segments": [
            {"name": s.name, "offset": s.file_offset, "size": s.file_size} for s in binary.segments
        ],
        "code_signature": signature,
    }
