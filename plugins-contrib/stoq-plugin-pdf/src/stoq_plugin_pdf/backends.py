"""Two PDF libraries behind one small interface, so the walk over objects is written once.

pikepdf (qpdf) repairs damaged files well and is tried first; pypdf (pure Python) reads some
files qpdf refuses and is the fallback.
"""

from __future__ import annotations

import io
import re
from typing import Any, Dict, Hashable, Iterator, List, Optional, Tuple

__all__ = ["Document", "NeedsPassword", "open_document"]


#: qpdf names an in-memory file after its Python object; the address means nothing to a reader.
_STREAM_NAME = re.compile(r"stream <_io\.BytesIO object at 0x[0-9a-f]+>:? ?")


def clean(message: str) -> str:
    """A qpdf message without the in-memory stream's name."""
    return _STREAM_NAME.sub("", message).strip()


class NeedsPassword(Exception):
    """The file is encrypted with a user password, so its objects cannot be read."""


class Document:
    """An open PDF: its trailer, facts about the file, and typed access to objects."""

    backend = ""
    trailer: Any = None
    version: Optional[str] = None
    encryption: Optional[Dict[str, Any]] = None
    objects: Optional[int] = None
    warnings: List[str] = []

    def kind(self, obj: Any) -> str:
        """``dict``, ``stream``, ``array``, ``name``, ``string`` or ``other``."""
        raise NotImplementedError

    def resolve(self, obj: Any) -> Tuple[Optional[Hashable], Any]:
        """``(identity, object)``: identity of an indirect object (None for a direct one)."""
        raise NotImplementedError

    def items(self, obj: Any) -> Iterator[Tuple[str, Any]]:
        """A dictionary's (or stream dictionary's) keys and raw values, by key: the walk, and
        so the order of findings and the path reported for an object reached twice, must not
        depend on the backend or on the process (pikepdf gives the keys as a set)."""
        raise NotImplementedError

    def elements(self, obj: Any) -> List[Any]:
        raise NotImplementedError

    def text(self, obj: Any) -> str:
        """A name, string or stream as text."""
        raise NotImplementedError

    def data(self, obj: Any) -> bytes:
        """A stream's decoded content (raw when it cannot be decoded)."""
        raise NotImplementedError


class _Pike(Document):
    backend = "pikepdf"

    def __init__(self, content: bytes) -> None:
        import pikepdf

        self._pikepdf = pikepdf
        try:
            self._pdf = pikepdf.open(io.BytesIO(content))
        except pikepdf.PasswordError as exc:
            raise NeedsPassword(clean(str(exc))) from exc
        self.trailer = self._pdf.trailer
        self.version = self._pdf.pdf_version
        self.objects = len(self._pdf.objects)
        self.warnings = [clean(str(w)) for w in self._pdf.get_warnings()]
        if self._pdf.is_encrypted:
            info = self._pdf.encryption
            self.encryption = {"method": info.stream_method.name, "bits": info.bits}

    def kind(self, obj: Any) -> str:
        p = self._pikepdf
        if isinstance(obj, p.Stream):
            return "stream"
        for name, cls in (("dict", p.Dictionary), ("array", p.Array), ("name", p.Name)):
            if isinstance(obj, cls):
                return name
        return "string" if isinstance(obj, p.String) else "other"

    def resolve(self, obj: Any) -> Tuple[Optional[Hashable], Any]:
        is_indirect = getattr(obj, "is_indirect", False)
        return (obj.objgen if is_indirect else None), obj

    def items(self, obj: Any) -> Iterator[Tuple[str, Any]]:
        for key in sorted(obj.keys()):
            yield str(key), obj.get(key)

    def elements(self, obj: Any) -> List[Any]:
        return list(obj)

    def text(self, obj: Any) -> str:
        if isinstance(obj, self._pikepdf.Stream):
            return _decode(self.data(obj))
        return str(obj)

    def data(self, obj: Any) -> bytes:
        try:
            return bytes(obj.read_bytes())
        except Exception:  # noqa: BLE001 - an undecodable filter: keep the raw bytes
            return bytes(obj.read_raw_bytes())


class _PyPdf(Document):
    backend = "pypdf"

    def __init__(self, content: bytes) -> None:
        from pypdf import PdfReader, generic

        self._g = generic
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except Exception as exc:  # e.g. an unsupported algorithm
                raise NeedsPassword(str(exc)) from exc
            if not decrypted:
                raise NeedsPassword("a user password is required")
            self.encryption = {"method": "unknown", "bits": None}
        self.trailer = reader.trailer
        self.version = reader.pdf_header.replace("%PDF-", "")

    def kind(self, obj: Any) -> str:
        g = self._g
        for name, cls in (
            ("stream", g.StreamObject),
            ("dict", g.DictionaryObject),
            ("array", g.ArrayObject),
            ("name", g.NameObject),
        ):
            if isinstance(obj, cls):
                return name
        return "string" if isinstance(obj, (g.TextStringObject, g.ByteStringObject)) else "other"

    def resolve(self, obj: Any) -> Tuple[Optional[Hashable], Any]:
        if isinstance(obj, self._g.IndirectObject):
            return (obj.idnum, obj.generation), obj.get_object()
        return None, obj

    def items(self, obj: Any) -> Iterator[Tuple[str, Any]]:
        yield from sorted(((str(k), v) for k, v in dict.items(obj)), key=lambda item: item[0])

    def elements(self, obj: Any) -> List[Any]:
        return list(list.__iter__(obj))

    def text(self, obj: Any) -> str:
        if isinstance(obj, self._g.StreamObject):
            return _decode(self.data(obj))
        if isinstance(obj, self._g.ByteStringObject):
            return _decode(bytes(obj))
        return str(obj)

    def data(self, obj: Any) -> bytes:
        try:
            return bytes(obj.get_data())
        except Exception:  # noqa: BLE001 - an undecodable filter: keep the raw bytes
            return bytes(obj._data)


def _decode(data: bytes) -> str:
    """Script text: UTF-16 with a byte-order mark, else UTF-8 with replacements."""
    if data[:2] in (b"\xfe\xff", b"\xff\xfe"):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8", "replace")


def open_document(content: bytes) -> Tuple[Document, List[str]]:
    """The document through pikepdf, else pypdf; with why each backend that failed did."""
    failures: List[str] = []
    for backend in (_Pike, _PyPdf):
        try:
            return backend(content), failures
        except NeedsPassword:
            raise
        except Exception as exc:  # noqa: BLE001 - any parser failure means: try the next one
            failures.append(f"{backend.backend}: {type(exc).__name__}: {clean(str(exc))}")
    raise ValueError("; ".join(failures))
