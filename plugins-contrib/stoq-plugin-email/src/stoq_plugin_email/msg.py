"""Outlook ``.msg`` files: an OLE compound file of MAPI properties, read with olefile.

Property streams are named ``__substg1.0_<tag><type>``: type ``001F`` is UTF-16LE text,
``001E`` 8-bit text, ``0102`` binary. Attachments are ``__attach_version1.0_#N`` storages;
an attached message is a storage (``3701000D``) holding a whole message, read in place.
"""

from __future__ import annotations

import io
from email import policy
from email.parser import HeaderParser
from typing import Any, Dict, List, Optional

import olefile

from .headers import summary, urls_in
from .parsed import Parsed

__all__ = ["is_msg", "parse_msg"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PROPERTIES = {
    "subject": "0037",
    "sender_name": "0C1A",
    "sender_email": "0C1F",
    "display_to": "0E04",
    "display_cc": "0E03",
    "message_class": "001A",
    "internet_message_id": "1035",
}


def is_msg(content: bytes) -> bool:
    return content[:8] == OLE_MAGIC


class _Reader:
    def __init__(self, ole: olefile.OleFileIO, parsed: Parsed) -> None:
        self.ole = ole
        self.parsed = parsed
        self.messages_read = 0

    def stream(self, path: List[str]) -> Optional[bytes]:
        if not self.ole.exists("/".join(path)) or self.ole.get_type("/".join(path)) != 2:
            return None
        return bytes(self.ole.openstream("/".join(path)).read())

    def text(self, prefix: List[str], tag: str) -> Optional[str]:
        raw = self.stream([*prefix, f"__substg1.0_{tag}001F"])
        if raw is not None:
            return raw.decode("utf-16-le", "replace").rstrip("\x00")
        raw = self.stream([*prefix, f"__substg1.0_{tag}001E"])
        return raw.decode("latin-1").rstrip("\x00") if raw is not None else None

    def children(self, prefix: List[str], start: str) -> List[str]:
        """Storages directly under ``prefix`` whose names start with ``start``."""
        names = {
            entry[-1]
            for entry in self.ole.listdir(streams=False, storages=True)
            if len(entry) == len(prefix) + 1
            and entry[: len(prefix)] == prefix
            and entry[-1].startswith(start)
        }
        return sorted(names)

    def message(self, prefix: List[str], depth: int) -> Dict[str, Any]:
        limits = self.parsed.limits
        found: Dict[str, Any] = {k: self.text(prefix, tag) for k, tag in PROPERTIES.items()}
        transport = self.text(prefix, "007D")
        if transport:
            headers = HeaderParser(policy=policy.compat32).parsestr(transport)
            found["transport_headers"] = summary(headers, limits.max_headers)
        found["recipients"] = [
            {
                "name": self.text([*prefix, storage], "3001"),
                "address": self.text([*prefix, storage], "39FE")
                or self.text([*prefix, storage], "3003"),
            }
            for storage in self.children(prefix, "__recip_version1.0_")
        ]
        body = self.text(prefix, "1000")
        html = self.stream([*prefix, "__substg1.0_10130102"])
        found["bodies"], urls = [], []
        for content, kind in ((body.encode("utf-8") if body else None, "text"), (html, "html")):
            if not content:
                continue
            text = content.decode("utf-8", "replace")
            urls += [u for u in urls_in(text, limits.max_urls) if u not in urls]
            found["bodies"].append(
                {
                    "content_type": f"text/{'plain' if kind == 'text' else 'html'}",
                    "size": len(content),
                    "text": text[: limits.max_body_chars],
                }
            )
            if depth == 0:
                name = f"body-{len(found['bodies'])}.{'txt' if kind == 'text' else 'html'}"
                self.parsed.add_child(content, {"filename": name})
        found["urls"] = urls[: limits.max_urls]
        found["attachments"] = [
            self.attachment([*prefix, storage], depth)
            for storage in self.children(prefix, "__attach_version1.0_")
        ]
        return found

    def attachment(self, prefix: List[str], depth: int) -> Dict[str, Any]:
        name = self.text(prefix, "3707") or self.text(prefix, "3704") or self.text(prefix, "3001")
        record: Dict[str, Any] = {"filename": name, "mime_type": self.text(prefix, "370E")}
        data = self.stream([*prefix, "__substg1.0_37010102"])
        if data is not None:
            record["size"] = len(data)
            self.parsed.add_child(data, {"filename": name or "attachment"})
        elif self.ole.exists("/".join([*prefix, "__substg1.0_3701000D"])):
            limits = self.parsed.limits
            if depth + 1 > limits.max_nested:
                self.parsed.skipped.append(f"attached message at depth {depth + 1} not read")
            elif self.messages_read >= limits.max_parts:
                self.parsed.skipped.append(f"attached message {name!r} beyond max_parts not read")
            else:
                self.messages_read += 1
                record["message"] = self.message([*prefix, "__substg1.0_3701000D"], depth + 1)
        return record


def parse_msg(content: bytes, parsed: Parsed) -> None:
    """The message's properties, recipients, bodies, attachments and attached messages."""
    with olefile.OleFileIO(io.BytesIO(content)) as ole:
        parsed.results.update(_Reader(ole, parsed).message([], 0))
    parsed.results["format"] = "outlook-msg"
