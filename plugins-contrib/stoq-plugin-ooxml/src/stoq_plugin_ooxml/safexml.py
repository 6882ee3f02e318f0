"""Stream one XML part of a package through expat, bounded and without a DTD.

Parts come from untrusted documents: a DOCTYPE could declare entities that expand a few bytes
into gigabytes (billion laughs) or pull in external files, so any DTD is refused before it is
used, and a part is read in chunks up to a size limit instead of being loaded whole.
"""

from __future__ import annotations

import zipfile
from typing import Callable, Dict, Optional
from xml.parsers import expat

__all__ = ["EndHandler", "StartHandler", "TextHandler", "scan_part"]

#: Expat names namespaced elements and attributes ``"<uri>}<local>"``.
SEPARATOR = "}"
_CHUNK = 64 * 1024

StartHandler = Callable[[str, Dict[str, str]], None]
EndHandler = Callable[[str], None]
TextHandler = Callable[[str], None]


def _refuse_dtd(*_: object) -> None:
    raise ValueError("an XML part with a DTD is refused")


def scan_part(
    package: zipfile.ZipFile,
    name: str,
    limit: int,
    on_start: StartHandler,
    on_end: Optional[EndHandler] = None,
    on_text: Optional[TextHandler] = None,
) -> None:
    """Feed ``name`` to the handlers; raise ``ValueError`` naming the part on any problem.

    A part larger than ``limit`` bytes (by what it holds, not what the zip claims), with a
    DTD, or with malformed XML is an error. Errors from the zip (a bad CRC, damaged deflate
    data) propagate as they are.
    """
    parser = expat.ParserCreate(namespace_separator=SEPARATOR)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    parser.buffer_text = True
    parser.StartElementHandler = on_start
    if on_end is not None:
        parser.EndElementHandler = on_end
    if on_text is not None:
        parser.CharacterDataHandler = on_text
    total = 0
    try:
        with package.open(name) as member:
            while True:
                chunk = member.read(_CHUNK)
                total += len(chunk)
                if total > limit:
                    raise ValueError(f"part over {limit} bytes")
                parser.Parse(chunk, not chunk)
                if not chunk:
                    return
    except expat.ExpatError as exc:
        raise ValueError(f"{name}: malformed XML: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
