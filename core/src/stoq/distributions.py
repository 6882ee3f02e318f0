"""Installed distributions' entry points of one group, read from their metadata files.

``importlib.metadata.entry_points()`` and a METADATA read per plugin (through the ``email``
package, which importing ``importlib.metadata`` pulls in) were about a fifth of
``stoq scan``'s start with 36 plugins installed. This module follows importlib.metadata's
search: ``sys.path`` in order; in each entry its ``*.dist-info`` and ``*.egg-info`` folders
(grouped by normalised name, in the directory's listing order) and an ``.egg``'s
``EGG-INFO``; a zip file on the path is searched the same way; the first distribution of a
normalised name wins. Only ``entry_points.txt`` is read to discover; a distribution's
METADATA is read the first time one of its fields is asked for (a plugin loaded or listed).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from importlib import import_module

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

__all__ = ["Distribution", "EntryPoint", "entry_points", "parse_headers"]

_INFO_SUFFIXES = (".dist-info", ".egg-info")
#: Errors that mean "this file is not there" when reading a metadata file, as importlib has.
_ABSENT = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, KeyError)
#: A header line as the email package's parser tells it: printable name, colon, value.
_HEADER = re.compile(r"([\041-\071\073-\176]+):[ \t]*(.*)", re.S)


def _normalize(name: str) -> str:
    """PEP 503 normalisation with underscores (importlib.metadata's ``Prepared.normalize``)."""
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def parse_headers(text: str) -> Dict[str, List[str]]:
    """A METADATA/PKG-INFO file's headers by lower-cased name, every value in order.

    Read as the ``email`` package reads them (the headers end at the first blank line or
    the first line that is not a header; a continuation line is kept with its newline and
    indentation), without importing it.
    """
    headers: Dict[str, List[str]] = {}
    values: Optional[List[str]] = None
    for line in text.split("\n\n", 1)[0].splitlines():  # the long description is not read
        if values is not None and line[:1] in (" ", "\t"):
            values[-1] += "\n" + line
            continue
        header = _HEADER.match(line)
        if header is None:
            break
        values = headers.setdefault(header.group(1).lower(), [])
        values.append(header.group(2))
    return headers


class Distribution:
    """One installed distribution's metadata folder; its METADATA is read on first use.

    (Plain classes here: a dataclass is built by compiling code at import, ~0.5-0.9 ms each.)
    """

    __slots__ = ("_headers", "path", "read")

    def __init__(self, path: str, read: Callable[[str], Optional[str]]) -> None:
        self.path = path
        self.read = read
        self._headers: Optional[Dict[str, List[str]]] = None

    def __repr__(self) -> str:
        return f"Distribution({self.path!r})"

    @property
    def headers(self) -> Dict[str, List[str]]:
        if self._headers is None:
            self._headers = parse_headers(self.read("METADATA") or self.read("PKG-INFO") or "")
        return self._headers

    def get(self, name: str) -> Optional[str]:
        """The first value of header ``name``, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def get_all(self, name: str) -> List[str]:
        return list(self.headers.get(name.lower(), ()))


class EntryPoint:
    """``name = module:attribute`` in a distribution's entry_points.txt."""

    __slots__ = ("dist", "group", "name", "value")

    def __init__(self, name: str, value: str, group: str, dist: Distribution) -> None:
        self.name, self.value, self.group, self.dist = name, value, group, dist

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"

    def load(self) -> Any:
        """Import the module and return the named attribute (the module itself if none)."""
        module, _, attributes = self.value.partition(":")
        loaded = import_module(module.strip())
        for attribute in filter(None, attributes.split("[", 1)[0].strip().split(".")):
            loaded = getattr(loaded, attribute)
        return loaded


def _directory(root: str) -> Optional[Tuple[List[str], Callable[[str], Optional[str]]]]:
    """A path entry's children and a reader of ``child/filename``, or None if not a folder."""
    try:
        children = os.listdir(root or ".")
    except OSError:
        return None

    def read(name: str) -> Optional[str]:
        try:
            with open(os.path.join(root, name), encoding="utf-8") as file:
                return file.read()
        except _ABSENT:
            return None

    return children, read


def _zip(root: str) -> Optional[Tuple[List[str], Callable[[str], Optional[str]]]]:
    """The same for a zip file on the path (zipfile is imported only when there is one)."""
    if not os.path.isfile(root):
        return None
    import zipfile

    try:
        archive = zipfile.ZipFile(root)
    except (OSError, zipfile.BadZipFile):
        return None
    children = list(dict.fromkeys(name.split("/", 1)[0] for name in archive.namelist()))

    def read(name: str) -> Optional[str]:
        try:
            return archive.read(name).decode("utf-8")
        except _ABSENT:
            return None

    return children, read


def _distributions(root: str) -> Iterator[Tuple[str, Distribution]]:
    """(normalised name, distribution) for each metadata folder of one path entry."""
    found = _directory(root) or _zip(root)
    if found is None:
        return
    children, read = found
    grouped: Dict[str, List[str]] = {}
    eggs = []
    for child in children:
        lowered = child.lower()
        if lowered.endswith(_INFO_SUFFIXES):
            name = _normalize(lowered.rpartition(".")[0].partition("-")[0])
            grouped.setdefault(name, []).append(child)
        elif lowered == "egg-info" and os.path.basename(root).lower().endswith(".egg"):
            eggs.append(child)
    for child in [*(c for group in grouped.values() for c in group), *eggs]:
        dist = Distribution(child, functools.partial(_read_in, read, child))
        stem, dot, suffix = child.rpartition(".")
        named_by_folder = bool(stem) and f"{dot}{suffix}" in _INFO_SUFFIXES
        yield (
            _normalize(stem.partition("-")[0] if named_by_folder else dist.get("Name") or ""),
            dist,
        )


def _read_in(read: Callable[[str], Optional[str]], folder: str, name: str) -> Optional[str]:
    return read(f"{folder}/{name}")


def _group_entries(text: str, group: str) -> Iterator[Tuple[str, str]]:
    """``(name, value)`` of ``group``'s lines in an entry_points.txt (importlib's syntax)."""
    section = None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == group:
            name, equals, value = line.partition("=")
            if equals:
                yield name.strip(), value.strip()


def entry_points(group: str, path: Optional[Sequence[str]] = None) -> List[EntryPoint]:
    """Every entry point of ``group``, distributions in ``sys.path`` order, first name wins."""
    seen = set()
    found = []
    for root in sys.path if path is None else path:
        if not isinstance(root, str):
            continue
        for key, dist in _distributions(root):
            if key in seen:
                continue
            seen.add(key)
            text = dist.read("entry_points.txt")
            for name, value in _group_entries(text or "", group):
                found.append(EntryPoint(name, value, group, dist))
    return found
