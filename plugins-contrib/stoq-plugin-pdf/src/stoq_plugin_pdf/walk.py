"""One breadth-first walk over a PDF's objects, from the trailer, noting what matters.

Breadth first, so the first path that reaches an object is the shortest one: a script reached
through ``/Root/OpenAction`` is reported as run on open even if an annotation also points at
it. Each indirect object is visited once, so self-references and cycles end the walk.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, Hashable, List, Optional, Set, Tuple

from .backends import Document

__all__ = ["Findings", "walk"]

#: Action types worth a human's attention, with the key that holds their target.
ACTIONS = {
    "/Launch": "/F",
    "/URI": "/URI",
    "/SubmitForm": "/F",
    "/ImportData": "/F",
    "/GoToR": "/F",
    "/GoToE": "/F",
    "/JavaScript": "/JS",
    "/RichMediaExecute": None,
}


@dataclass
class Findings:
    """What the walk found; ``files`` and ``scripts`` carry content for extraction."""

    javascript: List[Dict[str, Any]] = field(default_factory=list)
    actions: List[Dict[str, Any]] = field(default_factory=list)
    files: List[Tuple[Dict[str, Any], bytes]] = field(default_factory=list)
    objects: int = 0
    streams: int = 0
    annotations: int = 0
    truncated: bool = False


def trigger(path: Tuple[str, ...]) -> str:
    """When a script or action at ``path`` runs, as far as its place in the document says."""
    if "/OpenAction" in path:
        return "open"
    if "/Names" in path and "/JavaScript" in path:
        return "document"
    if "/AA" in path:
        index = path.index("/AA")
        event = path[index + 1] if index + 1 < len(path) else ""
        where = "page" if "/Kids" in path[:index] else "document"
        return f"{where} {event.lstrip('/')}".strip() if "/Annots" not in path else "annotation"
    if "/Annots" in path:
        return "annotation"
    if "/Outlines" in path:
        return "outline"
    return "other"


def _filename(doc: Document, spec: Any) -> Optional[str]:
    for key in ("/UF", "/F", "/DOS", "/Unix", "/Mac"):
        for found_key, value in doc.items(spec):
            if found_key == key:
                _, value = doc.resolve(value)
                if doc.kind(value) in ("string", "name"):
                    return doc.text(value)
    return None


def _target(doc: Document, value: Any) -> str:
    """An action's target as text: a string, a file specification's name, or a URL."""
    _, value = doc.resolve(value)
    kind = doc.kind(value)
    if kind in ("string", "name"):
        return doc.text(value)
    if kind == "dict":
        return _filename(doc, value) or ""
    return ""


class _Walk:
    def __init__(self, doc: Document, max_objects: int, max_script_chars: int) -> None:
        self.doc = doc
        self.max_objects = max_objects
        self.max_script_chars = max_script_chars
        self.found = Findings()
        self.seen: Set[Hashable] = set()
        self.queue: Deque[Tuple[Any, Tuple[str, ...]]] = deque([(doc.trailer, ())])

    def run(self) -> Findings:
        while self.queue:
            raw, path = self.queue.popleft()
            identity, obj = self.doc.resolve(raw)
            if identity is not None:
                if identity in self.seen:
                    continue
                if len(self.seen) >= self.max_objects:
                    self.found.truncated = True
                    break
                self.seen.add(identity)
            kind = self.doc.kind(obj)
            if kind in ("dict", "stream"):
                self.found.streams += kind == "stream"
                self._dictionary(obj, path)
            elif kind == "array":
                for index, item in enumerate(self.doc.elements(obj)):
                    self.queue.append((item, (*path, str(index))))
        self.found.objects = len(self.seen)
        return self.found

    def _dictionary(self, obj: Any, path: Tuple[str, ...]) -> None:
        doc = self.doc
        entries = dict(doc.items(obj))
        subtype = self._name(entries.get("/Subtype"))
        action = self._name(entries.get("/S"))
        if path and path[-2:-1] == ("/Annots",):
            self.found.annotations += 1
        if "/JS" in entries:
            self._script(entries["/JS"], path)
        if action in ACTIONS and action != "/JavaScript":
            key = ACTIONS[action]
            target = _target(doc, entries[key]) if key and key in entries else ""
            record = {"type": action.lstrip("/"), "trigger": trigger(path), "path": _show(path)}
            record["target"] = target
            if action == "/Launch" and "/Win" in entries:
                record["windows"] = self._launch_windows(entries["/Win"])
            self.found.actions.append(record)
        if "/EF" in entries:
            self._embedded(obj, entries["/EF"], path, subtype)
        for key, value in entries.items():
            if key != "/Parent":
                self.queue.append((value, (*path, key)))

    def _name(self, value: Any) -> str:
        if value is None:
            return ""
        _, value = self.doc.resolve(value)
        return self.doc.text(value) if self.doc.kind(value) == "name" else ""

    def _script(self, value: Any, path: Tuple[str, ...]) -> None:
        _, value = self.doc.resolve(value)
        if self.doc.kind(value) not in ("string", "stream"):
            return
        source = self.doc.text(value)
        where = trigger(path)
        self.found.javascript.append(
            {
                "trigger": where,
                "on_open": where in ("open", "document", "page O"),
                "path": _show(path),
                "length": len(source),
                "source": source[: self.max_script_chars],
                "source_truncated": len(source) > self.max_script_chars,
            }
        )

    def _launch_windows(self, value: Any) -> Dict[str, str]:
        _, value = self.doc.resolve(value)
        if self.doc.kind(value) != "dict":
            return {}
        shown = {}
        for key, item in self.doc.items(value):
            _, item = self.doc.resolve(item)
            if self.doc.kind(item) in ("string", "name"):
                shown[key.lstrip("/")] = self.doc.text(item)
        return shown

    def _embedded(self, spec: Any, ef: Any, path: Tuple[str, ...], subtype: str) -> None:
        doc = self.doc
        _, ef = doc.resolve(ef)
        if doc.kind(ef) != "dict":
            return
        streams = dict(doc.items(ef))
        stream = streams.get("/UF", streams.get("/F"))
        if stream is None:
            return
        _, stream = doc.resolve(stream)
        if doc.kind(stream) != "stream":
            return
        if "/EmbeddedFiles" in path:
            source = "EmbeddedFiles"
        elif path[:2] == ("/Root", "/AF"):
            source = "AssociatedFiles"
        elif "/Annots" in path:
            source = "FileAttachment annotation"
        else:
            source = "other"
        content = doc.data(stream)
        meta = {
            "filename": _filename(doc, spec) or f"embedded-{len(self.found.files) + 1}",
            "source": source,
            "path": _show(path),
            "size": len(content),
        }
        self.found.files.append((meta, content))


def _show(path: Tuple[str, ...]) -> str:
    return "/".join(part.lstrip("/") for part in path)


def walk(doc: Document, max_objects: int, max_script_chars: int) -> Findings:
    """Everything of interest reachable from the trailer, at most ``max_objects`` objects."""
    return _Walk(doc, max_objects, max_script_chars).run()
