"""The ``html`` stoQ plugin: what a web page runs, where it sends you, what it asks for."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Dict, List, Optional

from selectolax.lexbor import LexborHTMLParser, LexborNode

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

__all__ = ["HtmlPlugin"]

_REFRESH = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*[;,]?\s*(?:url\s*=\s*)?['\"]?([^'\"]*)", re.I)
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _attr(node: LexborNode, name: str) -> Optional[str]:
    value = node.attributes.get(name)
    return value.strip() if isinstance(value, str) else None


def _hidden(node: LexborNode) -> bool:
    """Zero-sized or styled invisible: how pages hide frames that load something."""
    sizes = [_attr(node, "width"), _attr(node, "height")]
    zero = any(size in ("0", "0px", "1", "1px") for size in sizes)
    return zero or bool(_HIDDEN.search(_attr(node, "style") or "")) or "hidden" in node.attributes


class HtmlPlugin(WorkerPlugin):
    """Reports scripts, links, forms (and where they post), iframes and meta refreshes.

    Inline scripts are extracted as children (``script-N.js``) so other workers (iocs, yara)
    read them; external scripts are listed with their ``src``.
    """

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {"max_items": 1000, "max_scripts": 100}

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        limit = int(self.plugin_opts["max_items"])
        tree = LexborHTMLParser(payload.content.decode("utf-8", "replace"))
        skipped: List[str] = []

        def bounded(kind: str, items: List[Any]) -> List[Any]:
            if len(items) > limit:
                skipped.append(f"{len(items) - limit} {kind} beyond max_items ({limit})")
            return items[:limit]

        title = tree.css_first("title")
        scripts, extracted = self._scripts(tree, skipped)
        results: Dict[str, Any] = {
            "title": title.text(strip=True) if title is not None else None,
            "scripts": bounded("scripts", scripts),
            "links": bounded("links", self._links(tree)),
            "forms": bounded("forms", [self._form(form) for form in tree.css("form")]),
            "iframes": bounded(
                "iframes",
                [{"src": _attr(f, "src"), "hidden": _hidden(f)} for f in tree.css("iframe, frame")],
            ),
            "meta_refresh": bounded("meta refreshes", self._refreshes(tree)),
            "objects": bounded(
                "objects",
                [
                    {"tag": n.tag, "src": _attr(n, "data") or _attr(n, "src")}
                    for n in tree.css("object, embed, applet")
                ],
            ),
        }
        if skipped:
            results["skipped"] = skipped
        return WorkerResponse(results, extracted=extracted)

    def _scripts(self, tree: LexborHTMLParser, skipped: List[str]) -> Any:
        most = int(self.plugin_opts["max_scripts"])
        scripts: List[Dict[str, Any]] = []
        extracted: List[ExtractedPayload] = []
        for node in tree.css("script"):
            source = node.text(deep=True) or ""
            record = {"src": _attr(node, "src"), "type": _attr(node, "type"), "length": len(source)}
            if source.strip():
                name = f"script-{len(scripts) + 1}.js"
                record["filename"] = name
                if len(extracted) < most:
                    meta = PayloadMeta(extra_data={"filename": name})
                    extracted.append(ExtractedPayload(source.encode("utf-8"), meta))
            scripts.append(record)
        inline = sum(1 for s in scripts if "filename" in s)
        if inline > most:
            skipped.append(
                f"{inline - most} inline scripts beyond max_scripts ({most}) not extracted"
            )
        return scripts, extracted

    @staticmethod
    def _links(tree: LexborHTMLParser) -> List[str]:
        found: Dict[str, None] = {}
        for node in tree.css("a[href], area[href], link[href]"):
            href = _attr(node, "href")
            if href:
                found.setdefault(href, None)
        return list(found)

    @staticmethod
    def _form(node: LexborNode) -> Dict[str, Any]:
        inputs = [
            {"name": _attr(field, "name"), "type": (_attr(field, "type") or "text").lower()}
            for field in node.css("input, select, textarea")
        ]
        return {
            "action": _attr(node, "action"),
            "method": (_attr(node, "method") or "get").lower(),
            "inputs": inputs,
            "password": any(field["type"] == "password" for field in inputs),
        }

    @staticmethod
    def _refreshes(tree: LexborHTMLParser) -> List[Dict[str, Any]]:
        refreshes = []
        for node in tree.css("meta[http-equiv]"):
            if (_attr(node, "http-equiv") or "").lower() != "refresh":
                continue
            match = _REFRESH.match(_attr(node, "content") or "")
            delay, url = (match.group(1), match.group(2).strip()) if match else (None, "")
            refreshes.append({"delay": float(delay) if delay else None, "url": url or None})
        return refreshes
