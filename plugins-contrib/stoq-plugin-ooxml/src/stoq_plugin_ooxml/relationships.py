"""Relationships whose target lies outside the package: how remote templates get in.

Word fetches an ``attachedTemplate`` target when the document opens, so a ``.docx`` with no
macros can still load a macro-enabled template from a URL; external ``oleObject`` and ``frame``
targets are fetched the same way. Each ``*.rels`` part is read with the standard library.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any, Dict, List

__all__ = ["REMOTE_TEMPLATE_TYPES", "external_relationships"]

_NAMESPACE = "{http://schemas.openxmlformats.org/package/2006/relationships}"
#: Relationship types (the last part of the Type URI) through which a template is loaded.
REMOTE_TEMPLATE_TYPES = {"attachedTemplate"}


def external_relationships(part: str, xml: bytes) -> List[Dict[str, Any]]:
    """``{part, id, type, target}`` for each ``TargetMode="External"`` relationship.

    A part with a DTD is refused (no entity expansion); malformed XML raises ``ParseError``.
    """
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise ValueError(f"{part}: a relationships part with a DTD is refused")
    root = ElementTree.fromstring(xml)
    found = []
    for rel in root.iter(f"{_NAMESPACE}Relationship"):
        if rel.get("TargetMode", "").lower() != "external":
            continue
        found.append(
            {
                "part": part,
                "id": rel.get("Id"),
                "type": (rel.get("Type") or "").rstrip("/").rsplit("/", 1)[-1],
                "target": rel.get("Target"),
            }
        )
    return found
