"""Real sample files for the yara tests: shipped by the system, or generated with real libraries."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from email.message import EmailMessage
from functools import cache
from typing import Dict

import libarchive
import py7zr

import stoq.testing

windows_pe = stoq.testing.windows_pe
elf_binary = stoq.testing.elf_binary


def _tar(compression: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("notes.txt")
        data = b"tar member\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(members: Dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _sevenzip() -> bytes:
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        archive.writestr(b"7z member\n", "notes.txt")
    return buffer.getvalue()


def _libarchive(format_name: str) -> bytes:
    """An archive written by libarchive itself (cpio, ar, ISO 9660)."""
    buffer = bytearray()

    def write(block: bytes) -> int:
        buffer.extend(block)
        return len(block)

    with libarchive.custom_writer(write, format_name) as writer:
        writer.add_file_from_memory("notes.txt", 11, b"lib member\n")
    return bytes(buffer)


def _email() -> bytes:
    message = EmailMessage()
    message["From"] = "alice@example.org"
    message["To"] = "bob@example.org"
    message["Subject"] = "report"
    message["Date"] = "Thu, 26 Nov 2026 04:21:54 +0000"
    message["Message-ID"] = "<1@example.org>"
    message.set_content("See attached.\n")
    message.add_attachment(
        b"attached\n", maintype="application", subtype="octet-stream", filename="a.bin"
    )
    return b"Received: from mx.example.org by mail.example.org\r\n" + message.as_bytes()


PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"3 0 obj << /S /JavaScript /JS (app.alert\\('hi'\\)) >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)
RTF = b"{\\rtf1\\ansi{\\object\\objemb{\\*\\objclass Package}\\objdata 0105000002000000}}"

OOXML_PARTS = {
    "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
    "word/document.xml": b"<w:document/>",
    "word/vbaProject.bin": b"not really a project",
}


@cache
def format_samples() -> Dict[str, bytes]:
    """One real sample per format the dispatch rules recognise, keyed by the rule's type."""
    text = b"plain text for compression\n" * 50
    return {
        "zip": _zip({"notes.txt": b"zip member\n"}),
        "ooxml": _zip(OOXML_PARTS),
        "7z": _sevenzip(),
        "gzip": gzip.compress(text),
        "bzip2": bz2.compress(text),
        "xz": lzma.compress(text),
        "lzma": lzma.compress(text, format=lzma.FORMAT_ALONE),
        "tar": _tar(),
        "cpio": _libarchive("cpio_newc"),
        "ar": _libarchive("ar_svr4"),
        "iso9660": _libarchive("iso9660"),
        "pe": windows_pe(),
        "elf": elf_binary(),
        "pdf": PDF,
        "rtf": RTF,
        "email": _email(),
        **wave2_samples(),
    }


#: A universal (fat) Mach-O dylib (i386 + x86_64) from delocate's sdist test data.
FAT_DYLIB = (
    "delocate-0.12.0.tar.gz",
    "delocate-0.12.0/delocate/tests/data/liba_both.dylib",
    "c990632ab6b77602460b01edfe9944872665ca2f5f4bf3f221d23da11707fdbd",
)
JAVASCRIPT = (
    b"var shell = new ActiveXObject('WScript.Shell');\n"
    b"function run(c) { shell.Run(c); }\n"
    b"eval(unescape('%72%75%6e%28%22%63%61%6c%63%22%29'));\n"
)


def wave2_samples() -> Dict[str, bytes]:
    """Samples for the issue 14 rules: raw LZMA with unusual properties, a fat Mach-O, a script."""
    text = b"plain text for compression\n" * 50
    unusual = [{"id": lzma.FILTER_LZMA1, "dict_size": 3 * 2**15, "lc": 0, "lp": 2, "pb": 0}]
    return {
        "lzma-unusual": lzma.compress(text, format=lzma.FORMAT_ALONE, filters=unusual),
        "macho-fat": stoq.testing.pinned_sample(*FAT_DYLIB).read_bytes(),
        "javascript": JAVASCRIPT,
    }
