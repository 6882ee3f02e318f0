"""RFC 822 / MIME messages through the standard library's parser (lenient compat32 policy)."""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any, Dict, List

from .headers import summary, urls_in
from .parsed import Parsed

__all__ = ["parse_rfc822"]

_NESTED = re.compile(rb"content-type:\s*(?:message/(?:rfc822|global)|multipart/)", re.IGNORECASE)
_HREF = re.compile(r"""(?:href|src|action)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


def _text(part: Message, payload: bytes) -> str:
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", "replace")


def _walk(part: Message, parsed: Parsed, found: Dict[str, List[Any]], depth: int) -> None:
    """Leaves become bodies or attachments; nested messages are extracted whole, not entered."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _walk(sub, parsed, found, depth + 1)
        return
    content_type = part.get_content_type()
    filename = part.get_filename()
    disposition = part.get_content_disposition()
    if part.get_content_maintype() == "message" and part.is_multipart():
        inner = part.get_payload(0)
        content = inner.as_bytes(policy=policy.compat32)
        name = filename or f"message-{len(found['messages']) + 1}.eml"
        record = {"filename": name, "content_type": content_type, "size": len(content)}
        record["subject"] = summary(inner, 0).get("subject")
        found["messages"].append(record)
        parsed.add_child(content, {"filename": name, "content_type": content_type})
        return
    payload = part.get_payload(decode=True)
    content = payload if isinstance(payload, bytes) else b""
    is_body = disposition != "attachment" and not filename and content_type in BODY_TYPES
    if is_body:
        text = _text(part, content)
        kind = "html" if content_type == "text/html" else "text"
        urls = urls_in(text, parsed.limits.max_urls)
        if kind == "html":
            urls += [u for u in _HREF.findall(text) if "://" in u and u not in urls]
        found["urls"].extend(u for u in urls if u not in found["urls"])
        found["bodies"].append(
            {
                "content_type": content_type,
                "charset": part.get_content_charset(),
                "size": len(content),
                "text": text[: parsed.limits.max_body_chars],
            }
        )
        name = f"body-{len(found['bodies'])}.{'html' if kind == 'html' else 'txt'}"
        if content:
            parsed.add_child(content, {"filename": name, "content_type": content_type})
        return
    name = filename or f"part-{parsed.parts_seen + 1}"
    found["attachments"].append(
        {
            "filename": name,
            "content_type": content_type,
            "disposition": disposition,
            "size": len(content),
        }
    )
    parsed.add_child(content, {"filename": name, "content_type": content_type})


BODY_TYPES = ("text/plain", "text/html")


def parse_rfc822(content: bytes, parsed: Parsed) -> None:
    """Headers, bodies, URLs, attachments and nested messages of one message."""
    limits = parsed.limits
    nested = len(_NESTED.findall(content))
    headers_only = nested > limits.max_nested
    message = BytesParser(policy=policy.compat32).parsebytes(content, headersonly=headers_only)
    parsed.results.update(summary(message, limits.max_headers))
    found: Dict[str, List[Any]] = {"bodies": [], "urls": [], "attachments": [], "messages": []}
    if headers_only:
        parsed.skipped.append(
            f"body not parsed: {nested} nested messages and multiparts,"
            f" more than max_nested ({limits.max_nested})"
        )
    else:
        _walk(message, parsed, found, 0)
    found["urls"] = found["urls"][: limits.max_urls]
    parsed.results.update(found)
    defects = [type(d).__name__ for d in message.defects]
    if defects:
        parsed.results["defects"] = defects[:20]
