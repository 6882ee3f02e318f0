"""The ``javascript`` stoQ plugin: scripts beautified, unpacked, decoded and flagged.

Malicious JavaScript (mail attachments run by Windows Script Host, scripts in HTML and PDF) is
minified, packed and escaped so that neither a reader nor a string search sees what it does.
jsbeautifier lays it out again and reverses the packers it knows (its code-running unpacker
stays disabled: nothing here executes the script); ``strings`` decodes escaped literals and
counts the calls droppers use. Unpacked code is also extracted as a child payload, so other
plugins (yara, b64decode) see it; unpacking a child again finds nothing more, so it never loops.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional, Tuple

import jsbeautifier
from jsbeautifier import unpackers

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .strings import count_indicators, decoded_strings

__all__ = ["JavascriptPlugin"]


def _unpacked(source: str) -> Tuple[List[str], str]:
    """The names of the jsbeautifier unpackers that apply, and the unpacked source."""
    names: List[str] = []
    for module in unpackers.UNPACKERS:
        if module.detect(source):
            names.append(module.__name__.rsplit(".", 1)[-1])
            try:
                source = module.unpack(source)
            except unpackers.UnpackingError:
                names.pop()
    return names, source


class JavascriptPlugin(WorkerPlugin):
    """Beautified source, decoded strings and indicator counts for a script."""

    #: Typed defaults; a config file's [plugins.javascript] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_beautify": 256 * 1024,
        "max_source_chars": 65536,
        "max_strings": 100,
        "max_string_chars": 1024,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Unpack and beautify (within ``max_beautify``), decode strings, count indicators."""
        opts = self.plugin_opts
        source = payload.content.decode("utf-8", "replace")
        results: Dict[str, Any] = {}
        extracted: List[ExtractedPayload] = []
        if len(payload.content) > opts["max_beautify"]:
            results["beautified"] = None
            results["skipped"] = "larger than max_beautify: not unpacked or beautified"
        else:
            names, unpacked = _unpacked(source)
            if names and unpacked != source:
                meta = PayloadMeta(extra_data={"unpacked_by": names})
                extracted.append(ExtractedPayload(unpacked.encode("utf-8"), meta))
                source = unpacked
            options = jsbeautifier.default_options()
            options.unescape_strings = True
            options.eval_code = False
            beautified = jsbeautifier.beautify(source, options)
            results["unpacked_by"] = names
            results["beautified"] = beautified[: opts["max_source_chars"]]
            results["beautified_truncated"] = len(beautified) > opts["max_source_chars"]
        strings: List[str] = []
        for text in decoded_strings(source):
            if len(strings) >= opts["max_strings"]:
                results["strings_truncated"] = True
                break
            strings.append(text[: opts["max_string_chars"]])
        results["decoded_strings"] = strings
        results["indicators"] = count_indicators(source)
        return WorkerResponse(results, extracted=extracted)
