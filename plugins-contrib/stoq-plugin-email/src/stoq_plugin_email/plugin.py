"""The ``email`` stoQ plugin: who sent a message, along which path, and what it carries."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional

from olefile.olefile import OleFileError

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .msg import is_msg, parse_msg
from .parsed import Limits, Parsed
from .rfc822 import parse_rfc822

__all__ = ["EmailPlugin"]


class EmailPlugin(WorkerPlugin):
    """Reads RFC 822 messages (stdlib ``email``) and Outlook ``.msg`` files (olefile).

    Bodies, attachments and nested messages are extracted as children with their file names,
    so the engine routes each to the workers for its format (bodies to iocs/html, archives
    to decompress, nested messages back here).
    """

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_parts": 500,
        "max_urls": 1000,
        "max_headers": 200,
        "max_body_chars": 4096,
        "max_nested": 50,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        opts = self.plugin_opts
        limits = Limits(
            max_parts=int(opts["max_parts"]),
            max_urls=int(opts["max_urls"]),
            max_headers=int(opts["max_headers"]),
            max_body_chars=int(opts["max_body_chars"]),
            max_nested=int(opts["max_nested"]),
        )
        parsed = Parsed(limits)
        if is_msg(payload.content):
            try:
                parse_msg(payload.content, parsed)
            except (OleFileError, OSError, ValueError, IndexError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                return WorkerResponse(errors=[f"cannot read the Outlook message: {reason}"])
        else:
            parsed.results["format"] = "rfc822"
            parse_rfc822(payload.content, parsed)
        results = parsed.finish()
        extracted = [
            ExtractedPayload(content, PayloadMeta(extra_data=extra))
            for content, extra in parsed.children
        ]
        return WorkerResponse(results, extracted=extracted)
