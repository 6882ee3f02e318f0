"""Seed inputs for the fuzzers: real files of every format the parsing plugins read.

Made here with real tools (the standard library's archive, mail and compression writers; the
machine's own PE launcher and ELF executables), plus every real sample the plugin tests have
taken out of pinned distributions (``stoq.testing.pinned_sample``'s cache: Office files with
macros, PDFs with JavaScript, OneNote, LNK, signed DLLs, ...). Every plugin gets every seed:
the fuzzer keeps whichever reach new code in the plugin it fuzzes.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
from email.message import EmailMessage
from pathlib import Path
from typing import Dict

from stoq.testing import elf_binary, windows_pe
from stoq.testing._samples import _cache_dir

__all__ = ["write_seeds"]


def _zip(members: Dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar(members: Dict[str, bytes], mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _email(attachment: bytes) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "hi"
    message.set_content("See http://example.org/x and 10.0.0.1.")
    message.add_alternative(
        "<html><body><a href='http://example.org'>x</a><script>eval(1)</script></body></html>",
        subtype="html",
    )
    message.add_attachment(attachment, maintype="application", subtype="zip", filename="a.zip")
    return bytes(message)


def generated() -> Dict[str, bytes]:
    text = b"stoQ fuzz seed: http://example.org/path?q=1 user@example.org 192.0.2.1\n" * 4
    pe, elf = windows_pe(), elf_binary()[:65536]
    archive = _zip({"a.txt": text, "b.exe": pe[:4096]})
    return {
        "text.txt": text,
        "zip.zip": archive,
        "tar.tar": _tar({"a.txt": text}, "w"),
        "tgz.tar.gz": _tar({"a.txt": text, "b": pe[:2048]}, "w:gz"),
        "gzip.gz": gzip.compress(text),
        "bzip2.bz2": bz2.compress(text),
        "xz.xz": lzma.compress(text),
        "lzma.lzma": lzma.compress(text, format=lzma.FORMAT_ALONE),
        "pe.exe": pe,
        "elf.bin": elf,
        "pe-with-zip.exe": pe + archive,
        "base64.txt": b"data = '" + base64.b64encode(pe[:3000]) + b"'\n",
        "xor.bin": bytes(b ^ 0x5A for b in pe[:4096]),
        "mail.eml": _email(archive),
        "page.html": b"<html><head><meta http-equiv='refresh' content='0;url=http://e.example'></head>"
        b"<body><form action='http://e.example/p'><input type=password></form>"
        b"<iframe src='http://e.example' width=0></iframe><script>var s=unescape('%41');eval(s)</script></body></html>",
        "script.js": b"var a = '\\x68\\x74\\x74\\x70'; eval(unescape('%61')); new ActiveXObject('WScript.Shell');",
    }


def write_seeds(folder: Path) -> int:
    """Write every seed into ``folder``; returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for name, data in generated().items():
        (folder / name).write_bytes(data)
        count += 1
    members = _cache_dir() / "members"
    for sample in sorted(members.glob("*/*")) if members.is_dir() else []:
        if sample.is_file() and sample.stat().st_size <= 4 * 1024 * 1024:
            (folder / f"pinned-{sample.parent.name[:12]}-{sample.name}").write_bytes(
                sample.read_bytes()
            )
            count += 1
    return count
