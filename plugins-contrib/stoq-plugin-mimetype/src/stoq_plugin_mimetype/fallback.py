"""Identification without libmagic: puremagic's signatures, refined where they are ambiguous.

puremagic ranks every format sharing a signature equally, so a plain zip comes back first as a
Word document. Zip containers are therefore told apart by their members, and content with no
signature is classed as text or data the way libmagic does.
"""

from __future__ import annotations

import codecs
import io
import zipfile
import zlib
from typing import Tuple

import puremagic

__all__ = ["identify"]

#: How much of the payload the text check reads.
TEXT_SAMPLE = 64 * 1024
#: ASCII control bytes that make content data, not text (tab, newlines, form feed, vertical
#: tab and escape are allowed).
CONTROL_BYTES = bytes(sorted(set(range(32)) - set(b"\t\n\r\f\v\x1b") | {127}))
ZIP_SIGNATURE = b"PK\x03\x04"
#: What reading a corrupt or hostile zip directory can raise.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    RuntimeError,
    ValueError,
    NotImplementedError,
    zlib.error,
)
OOXML_FOLDERS = (
    ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)


def identify(content: bytes) -> Tuple[str, str]:
    """``(mime type, description)`` of ``content`` from pure-Python checks only."""
    if not content:
        return "application/x-empty", "empty"
    if content.startswith(ZIP_SIGNATURE):
        return _zip_kind(content)
    try:
        matches = puremagic.magic_string(content)
    except puremagic.PureError:  # puremagic 1.x raises when nothing matches; 2.x returns []
        matches = []
    if not matches:
        return _text_or_data(content)
    best = matches[0]
    return best.mime_type or "application/octet-stream", best.name


def _zip_kind(content: bytes) -> Tuple[str, str]:
    """A zip's container format, decided by the members that format requires.

    Like libmagic, only Office Open XML and OpenDocument are told apart; JARs, APKs and the
    rest stay ``application/zip`` so that extraction rules keyed on it still apply.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            declared = b""
            if names[:1] == ["mimetype"]:  # OpenDocument puts its type first, uncompressed
                with archive.open("mimetype") as member:
                    declared = member.read(100)
    except ZIP_ERRORS:
        return "application/zip", "Zip archive data (unreadable directory)"
    if "[Content_Types].xml" in names:
        for folder, mime in OOXML_FOLDERS:
            if any(name.startswith(folder) for name in names):
                return mime, "Microsoft Office Open XML document"
    if declared.startswith(b"application/"):
        return declared.decode("ascii", "replace").strip(), "OpenDocument file"
    return "application/zip", "Zip archive data"


def _text_or_data(content: bytes) -> Tuple[str, str]:
    """Text if the start decodes as UTF-8 without control characters; otherwise data."""
    sample = content[:TEXT_SAMPLE]
    if len(sample.translate(None, CONTROL_BYTES)) != len(sample):
        return "application/octet-stream", "data"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(content) <= TEXT_SAMPLE)
    except UnicodeDecodeError:
        return "application/octet-stream", "data"
    return "text/plain", "ASCII text" if sample.isascii() else "UTF-8 text"
