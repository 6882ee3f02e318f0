"""Reading an upload from a request: the raw body or a multipart form, in memory, bounded.

The size limit is enforced while the body streams in: a declared ``Content-Length`` over it is
refused before anything is read, and a body that grows past it is refused at the chunk that
crosses it, so an oversized upload is never read whole. Nothing is written to disk: the
multipart parser keeps file parts in memory (it is told that no part is too big for memory,
and the limit stops any part before it could be).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from starlette.requests import Request

from stoq.server.problems import Problem
from stoq.server.scanner import Upload

__all__ = ["read_upload"]

#: Room for multipart boundaries, headers and small fields beyond the file's own limit.
_FORM_OVERHEAD = 64 * 1024
#: Fields a form may carry besides ``file``; any other name is refused, naming it.
_FIELDS = ("filename", "source", "extra", "dispatch", "deep_dispatch")
_PLUGIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass
class _Part:
    """One part of a multipart body, as it streams in."""

    headers: Dict[bytes, bytes] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)


def _too_big(limit: int) -> Problem:
    return Problem(413, "Upload too large", f"the upload is larger than the limit of {limit} bytes")


def _check_declared_length(request: Request, allowed: int, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Problem(400, "Bad Content-Length", f"Content-Length {declared!r} is not a number")
        if int(declared) > allowed:
            raise _too_big(limit)


def _key_values(items: List[str]) -> Dict[str, str]:
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise Problem(400, "Bad extra field", f"extra {item!r} is not key=value")
        extra[key] = value
    return extra


def _names(items: List[str]) -> List[str]:
    names = [name.strip() for item in items for name in item.split(",") if name.strip()]
    for name in names:
        if not _PLUGIN_NAME.fullmatch(name):
            raise Problem(400, "Bad plugin name", f"{name!r} is not a plugin name")
    return names


def _upload(content: bytes, fields: Dict[str, List[str]]) -> Upload:
    if not content:
        raise Problem(400, "Empty upload", "the file is empty: there is nothing to scan")
    single = {k: v[-1] for k, v in fields.items() if v and k in ("filename", "source")}
    return Upload(
        content=content,
        filename=single.get("filename") or None,
        source=single.get("source") or None,
        extra=_key_values(fields.get("extra", [])),
        dispatch=_names(fields.get("dispatch", [])),
        deep_dispatch=_names(fields.get("deep_dispatch", [])),
    )


async def _raw(request: Request, limit: int) -> Upload:
    _check_declared_length(request, limit, limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_big(limit)
        chunks.append(chunk)
    fields = {k: request.query_params.getlist(k) for k in _FIELDS}
    return _upload(b"".join(chunks), fields)


async def _multipart(request: Request, limit: int, boundary: bytes) -> Upload:
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _check_declared_length(request, limit + _FORM_OVERHEAD, limit)
    parts: List[_Part] = []
    header = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        parts.append(_Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        parts[-1].headers[header["field"].lower()] = header["value"]
        header.update(field=b"", value=b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]
        if len(parts[-1].data) > limit:
            raise _too_big(limit)

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
        },
    )
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit + _FORM_OVERHEAD:
                raise _too_big(limit)
            parser.write(chunk)
        parser.finalize()
    except Problem:
        raise
    except (FormParserError, ValueError) as exc:  # the parser's own errors: a malformed body
        raise Problem(400, "Malformed multipart body", f"{type(exc).__name__}: {exc}") from None
    fields: Dict[str, List[str]] = {}
    content: Optional[bytes] = None
    file_name: Optional[str] = None
    for part in parts:
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        data = bytes(part.data)
        if name == "file":
            content = data
            file_name = options.get(b"filename", b"").decode("utf-8", "replace") or None
        elif name in _FIELDS:
            fields.setdefault(name, []).append(data.decode("utf-8", "replace"))
        else:
            raise Problem(
                400,
                "Unknown form field",
                f"form field {name!r} is not one of file, {', '.join(_FIELDS)}",
            )
    if content is None:
        raise Problem(400, "No file", "the multipart form has no field named 'file'")
    if file_name and "filename" not in fields:
        fields["filename"] = [file_name]
    return _upload(content, fields)


async def read_upload(request: Request, limit: int) -> Upload:
    """The upload in ``request``: multipart field ``file``, or else the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        from python_multipart.multipart import parse_options_header

        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise Problem(
                415, "Unsupported multipart body", "send multipart/form-data with a boundary"
            )
        return await _multipart(request, limit, boundary)
    return await _raw(request, limit)
