"""MS-OVBA: the compression of VBA streams, the ``dir`` stream, and module source.

A VBA project is an OLE storage holding ``PROJECT`` (text naming each module's kind) and a
``VBA`` storage with the compressed ``dir`` stream (the module table) and one stream per module,
whose compressed source starts at the module's text offset. Everything here reads hostile bytes:
each length is checked, and decompression stops at a caller's bound, so a tiny container that
expands enormously costs no more than the bound.
"""

from __future__ import annotations

import codecs
import re
import struct
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import olefile

__all__ = [
    "Decompressed",
    "Module",
    "Source",
    "decompress",
    "form_strings",
    "modules",
    "parse_dir",
    "project_roots",
]

#: A compressed chunk holds at most this many decompressed bytes (MS-OVBA 2.4.1.1.4).
CHUNK_SIZE = 4096
#: The extension olevba gives each kind the PROJECT stream names (``Module=NewMacros``).
PROJECT_KINDS = {"document": "cls", "module": "bas", "class": "cls", "baseclass": "frm"}
#: Printable runs in a form's ``o`` stream: its controls' captions, values and names.
FORM_TEXT = re.compile(rb"[\t\r\n\x20-\xff]{5,}")
#: When PROJECT does not name a module, its MODULETYPE record says procedural or not.
TYPE_EXTENSIONS = {0x0021: "bas", 0x0022: "cls"}


@dataclass
class Decompressed:
    """Decompressed bytes; ``cut`` when the bound stopped decompression early."""

    data: bytes
    cut: bool = False


def decompress(data: bytes, limit: int, start: int = 0) -> Decompressed:
    """The CompressedContainer at ``data[start:]`` decompressed, at most ``limit`` bytes.

    Raises ValueError naming the offset of a malformed signature, chunk header or copy token.
    """
    if start >= len(data) or data[start] != 0x01:
        raise ValueError(f"compressed container at {start}: no signature byte 0x01")
    out = bytearray()
    pos = start + 1
    while pos < len(data):
        if len(data) - pos < 2:
            raise ValueError(f"chunk header at {pos}: truncated")
        (header,) = struct.unpack_from("<H", data, pos)
        if (header >> 12) & 0x7 != 0b011:
            raise ValueError(f"chunk header at {pos}: bad signature {header:#06x}")
        end = min(pos + (header & 0x0FFF) + 3, len(data))
        pos += 2
        if header & 0x8000:
            chunk = _chunk(data, pos, end)
        else:
            chunk = data[pos : pos + CHUNK_SIZE]
            end = pos + CHUNK_SIZE
        if len(out) + len(chunk) > limit:
            out += chunk[: limit - len(out)]
            return Decompressed(bytes(out), cut=True)
        out += chunk
        pos = end
    return Decompressed(bytes(out))


def _chunk(data: bytes, pos: int, end: int) -> bytes:
    """One compressed chunk's tokens (flag bytes, literals, copy tokens) from ``pos`` to ``end``."""
    out = bytearray()
    while pos < end and len(out) < CHUNK_SIZE:
        flags = data[pos]
        pos += 1
        for bit in range(8):
            if pos >= end or len(out) >= CHUNK_SIZE:
                break
            if not flags & (1 << bit):
                out.append(data[pos])
                pos += 1
                continue
            if end - pos < 2:
                raise ValueError(f"copy token at {pos}: truncated")
            (token,) = struct.unpack_from("<H", data, pos)
            pos += 2
            bits = max((len(out) - 1).bit_length(), 4)
            length = (token & (0xFFFF >> bits)) + 3
            offset = (token >> (16 - bits)) + 1
            if not out or offset > len(out):
                raise ValueError(f"copy token at {pos - 2}: offset {offset} before the chunk")
            for _ in range(min(length, CHUNK_SIZE - len(out))):
                out.append(out[-offset])
    return bytes(out)


@dataclass
class Module:
    """One MODULE record of the ``dir`` stream."""

    name: str = ""
    stream: str = ""
    stream_unicode: str = ""
    name_unicode: str = ""
    offset: int = 0
    kind: int = 0


def _codec(code_page: int) -> str:
    """A Python codec for a Windows code page; cp1252 when Python has none by that number."""
    try:
        return codecs.lookup("utf-8" if code_page == 65001 else f"cp{code_page}").name
    except LookupError:
        return "cp1252"


def parse_dir(data: bytes) -> Tuple[str, List[Module]]:
    """The project's codec and its modules, from the decompressed ``dir`` stream.

    Records are ``Id (2), Size (4), data``; PROJECTVERSION alone carries 6 bytes after a size
    of 4. Unknown records are skipped by their size, so later Office versions still read.
    """
    codec = "cp1252"
    found: List[Module] = []
    current: Optional[Module] = None
    pos = 0
    while len(data) - pos >= 6:
        record, size = struct.unpack_from("<HI", data, pos)
        pos += 6
        if record == 0x0009:  # PROJECTVERSION: Reserved (4) is in the size field's place
            size = 6
        if size > len(data) - pos:
            raise ValueError(f"dir record {record:#06x} at {pos - 6}: size {size} past the end")
        value = data[pos : pos + size]
        pos += size
        if record == 0x0010:  # dir stream terminator
            break
        if record == 0x0003 and size == 2:
            codec = _codec(struct.unpack("<H", value)[0])
        elif record == 0x0019:  # MODULENAME starts a module record
            current = Module(name=value.decode(codec, "replace"))
            found.append(current)
        elif current is None:
            continue
        elif record == 0x0047:
            current.name_unicode = value.decode("utf-16-le", "replace")
        elif record == 0x001A:
            current.stream = value.decode(codec, "replace")
        elif record == 0x0032:
            current.stream_unicode = value.decode("utf-16-le", "replace")
        elif record == 0x0031 and size == 4:
            current.offset = struct.unpack("<I", value)[0]
        elif record in TYPE_EXTENSIONS:
            current.kind = record
    return codec, found


def project_roots(ole: olefile.OleFileIO) -> List[str]:
    """Every storage path (``""``, ``"Macros/"``, ``"_VBA_PROJECT_CUR/"``) holding ``VBA/dir``."""
    roots = {
        "".join(f"{part}/" for part in path[:-2])
        for path in ole.listdir(streams=True, storages=False)
        if len(path) >= 2 and path[-2].lower() == "vba" and path[-1].lower() == "dir"
    }
    return sorted(roots)


def form_strings(ole: olefile.OleFileIO, root: str, limit: int) -> List[str]:
    """Text of the project's forms: printable runs of 5 bytes or more in each ``o`` stream
    (at most ``limit`` bytes of it), where droppers hide commands in control captions."""
    prefix = [part for part in root.split("/") if part]
    texts: List[str] = []
    for path in ole.listdir(streams=True, storages=False):
        if path[-1] == "o" and len(path) > len(prefix) + 1 and path[: len(prefix)] == prefix:
            data = ole.openstream(path).read(limit)
            texts += [run.decode("latin-1") for run in FORM_TEXT.findall(data)]
    return texts


def _extensions(ole: olefile.OleFileIO, root: str, codec: str) -> Dict[str, str]:
    """Lower-case module name -> extension, from the PROJECT stream's ``Kind=Name`` lines."""
    if not ole.exists(root + "PROJECT"):
        return {}
    kinds: Dict[str, str] = {}
    for line in ole.openstream(root + "PROJECT").read().decode(codec, "replace").splitlines():
        key, _, value = line.strip().partition("=")
        extension = PROJECT_KINDS.get(key.lower())
        if extension and value:
            kinds[value.split("/", 1)[0].lower()] = extension
    return kinds


@dataclass
class Source:
    """A module's source as olevba names it; ``error`` instead when it cannot be read."""

    stream: str
    name: str
    text: str = ""
    cut: bool = False
    error: str = ""


def modules(ole: olefile.OleFileIO, root: str, limit: int) -> Iterator[Source]:
    """The source of each module of the project stored at ``root``, at most ``limit`` bytes each.

    A module whose stream is missing or malformed comes with its ``error``; the others still
    come. A ``dir`` stream that cannot be read raises ValueError.
    """
    vba = root + "VBA/"
    codec, table = parse_dir(decompress(ole.openstream(vba + "dir").read(), limit).data)
    extensions = _extensions(ole, root, codec)
    for module in table:
        extension = extensions.get(module.name.lower()) or TYPE_EXTENSIONS.get(module.kind, "vba")
        names = (module.stream, module.stream_unicode, module.name, module.name_unicode)
        stream = next((n for n in names if n and ole.exists(vba + n)), None)
        if stream is None:
            error = f"no stream {vba}{module.stream or module.name}"
            yield Source(vba + module.stream, f"{module.name}.{extension}", error=error)
            continue
        found = Source(vba + stream, f"{module.name}.{extension}")
        try:
            source = decompress(ole.openstream(vba + stream).read(), limit, module.offset)
        except (OSError, ValueError) as exc:
            found.error = str(exc)
        else:
            found.text, found.cut = source.data.decode(codec, "replace"), source.cut
        yield found
