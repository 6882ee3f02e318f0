"""Behaviour of the ``mimetype`` worker on real files, with libmagic and with the fallback."""

from __future__ import annotations

import bz2
import ctypes
import gzip
import io
import lzma
import os
import random
import shutil
import struct
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Tuple

import pytest

from stoq import StoqPluginLoadError
from stoq.testing import WorkerConformance, make_stoq
from stoq_plugin_mimetype.plugin import (
    HEAD_BYTES,
    MIME_OF_DESCRIPTION,
    MimetypePlugin,
    load_libmagic,
)

SYSTEM_BINARY = Path(shutil.which("ls") or "/bin/ls").resolve()
ELF_TYPES = {"application/x-executable", "application/x-sharedlib", "application/x-pie-executable"}


def make_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG: signature, IHDR, one zlib-compressed IDAT and IEND, each CRC'd."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(
        b"\x00" + bytes([x * 40, y * 60, 200]) * 1 for y in range(height) for x in range(width)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def make_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_zip(members: Dict[str, bytes], first_stored: bool = False) -> bytes:
    """A zip built with zipfile (deflated members; optionally the first one stored)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, content) in enumerate(members.items()):
            stored = first_stored and index == 0
            archive.writestr(name, content, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def make_tar() -> bytes:
    """A POSIX tar with one member, built with tarfile."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        archive.addfile(info, io.BytesIO(b"hello\n"))
    return buffer.getvalue()


def run_file(content: bytes, *flags: str) -> str:
    """What the ``file`` command prints for ``content`` read from standard input."""
    return (
        subprocess.run(
            ["file", "--brief", *flags, "-"], input=content, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )


TEXT = b"stoQ analyses files through plugins.\n"
SAMPLES = {
    "zip": make_zip({"hello.txt": TEXT}),
    "gzip": gzip.compress(TEXT),
    "bzip2": bz2.compress(TEXT),
    "xz": lzma.compress(TEXT),
    "tar": make_tar(),
    "png": make_png(),
    "pdf": make_pdf(),
    "text": TEXT,
    "utf-8 text": "Grüße aus Köln\n".encode(),
    "empty": b"",
    "docx": make_zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "_rels/.rels": b"<Relationships/>",
            "word/document.xml": b"<w:document/>",
        }
    ),
    "odt": make_zip(
        {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"},
        first_stored=True,
    ),
}

#: sample → (libmagic's MIME type, the fallback's MIME type)
EXPECTED = {
    "zip": ("application/zip", "application/zip"),
    "gzip": ("application/gzip", "application/x-gzip"),
    "bzip2": ("application/x-bzip2", "application/x-bzip2"),
    "xz": ("application/x-xz", "application/x-xz"),
    "tar": ("application/x-tar", "application/x-tar"),
    "png": ("image/png", "image/png"),
    "pdf": ("application/pdf", "application/pdf"),
    "text": ("text/plain", "text/plain"),
    "utf-8 text": ("text/plain", "text/plain"),
    "empty": ("application/x-empty", "application/x-empty"),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "odt": ("application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.text"),
}


def identify(content: bytes, **options: object) -> dict:
    """Scan ``content`` with only the mimetype worker and return its results."""
    with make_stoq(always_dispatch=["mimetype"], plugin_opts={"mimetype": options}) as stoq:
        response = stoq.scan(content)
    assert response.errors == []
    return response.results[0].workers[0]["mimetype"]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_libmagic_identifies_real_files(name: str) -> None:
    """With libmagic, each generated file gets its MIME type and ``file``'s description."""
    result = identify(SAMPLES[name], backend="libmagic")
    assert result["backend"] == "libmagic"
    assert result["mimetype"] == EXPECTED[name][0]
    assert result["description"]


@pytest.mark.skipif(shutil.which("file") is None, reason="the file command is not installed")
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_libmagic_results_equal_the_file_command(name: str) -> None:
    """The worker says what ``file -b`` and ``file -b --mime-type`` say of the same bytes."""
    result = identify(SAMPLES[name], backend="libmagic")
    assert result["mimetype"] == run_file(SAMPLES[name], "--mime-type")
    assert result["description"] == run_file(SAMPLES[name])


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_puremagic_fallback_identifies_real_files(name: str) -> None:
    """Forced to the fallback, the same files are identified without libmagic."""
    result = identify(SAMPLES[name], backend="puremagic")
    assert result["backend"] == "puremagic"
    assert result["mimetype"] == EXPECTED[name][1]
    assert result["description"]


def stdlib_files(per_suffix: int = 6) -> List[Path]:
    """Files the Python installation ships: up to ``per_suffix`` of each suffix, sorted."""
    chosen: Dict[str, List[Path]] = {}
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*")):
        kind = chosen.setdefault(path.suffix, [])
        if len(kind) < per_suffix and path.is_file() and not path.is_symlink():
            kind.append(path)
    return [path for paths in chosen.values() for path in paths]


def corpus() -> List[Tuple[str, bytes]]:
    """Generated formats, text in several encodings, content past HEAD_BYTES, shipped files."""
    rng = random.Random(15)
    prose = (Path(sysconfig.get_paths()["stdlib"]) / "this.py").read_bytes() * 40
    generated = {
        **SAMPLES,
        "json": b'{"a": [1, 2, {"b": null}], "c": "d"}\n',
        "xml": b'<?xml version="1.0"?>\n<root><item>stoQ</item></root>\n',
        "html": b"<!DOCTYPE html>\n<html><head><title>t</title></head><body>x</body></html>\n",
        "csv": b"name,size,kind\na,1,b\nc,2,d\ne,3,f\n",
        "crlf text": TEXT.replace(b"\n", b"\r\n") * 3,
        "utf-16 text": "Grüße aus Köln\n".encode("utf-16"),
        "latin-1 text": "Grüße aus Köln\n".encode("latin-1"),
        "one byte": b"x",
        "cp1252 text": "\u201cquoted\u201d \u2013 text\n".encode("cp1252"),
        "random 3 MiB": rng.randbytes(3 * HEAD_BYTES),
        "text 2 MiB": (prose * 50)[: 2 * HEAD_BYTES],
        "zip of 300 members": make_zip({f"m{i}.bin": os.urandom(4096) for i in range(300)}),
        "system binary": SYSTEM_BINARY.read_bytes(),
    }
    shipped = [(str(path), path.read_bytes()) for path in stdlib_files()]
    return [*generated.items(), *shipped]


def test_libmagic_answers_equal_two_full_calls_on_a_corpus() -> None:
    """One call on the head where it suffices gives what two calls on the whole content give,
    python-magic's two handles (one per question) being the reference for this binding's one."""
    import magic

    by_mime, by_text = magic.Magic(mime=True), magic.Magic()
    identify_fast = load_libmagic()
    seen = set()
    for name, content in corpus():
        whole = (by_mime.from_buffer(content), by_text.from_buffer(content))
        assert identify_fast(content) == whole, name
        seen.add(whole[1].split(",", 1)[0])
    assert len(seen) > 20
    assert set(MIME_OF_DESCRIPTION) <= seen  # every one-call answer was checked


def test_libmagic_loads_without_child_processes_the_fallback_or_the_rule_reader() -> None:
    """Loading libmagic runs no ``ldconfig`` (python-magic ran it twice, ~50 ms per process)
    and never imports puremagic, the fallback's library; a short run (text and binary) does
    not import ``textrules``, which reads the database from the READ_AFTER-th payload on."""
    program = (
        "import subprocess, sys; started = [];"
        "real = subprocess.Popen.__init__;"
        "subprocess.Popen.__init__ = lambda self, *a, **k: started.append(a) or real(self, *a, **k);"
        "from stoq import Stoq; s = Stoq(always_dispatch=['mimetype']);"
        "s.scan(b'hello'); s.scan(b'\\x7fELF\\x02\\x01\\x01' + bytes(64));"
        "print(s.load_plugin('mimetype').backend, 'puremagic' in sys.modules, len(started),"
        " 'stoq_plugin_mimetype.textrules' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert completed.stdout.split() == ["libmagic", "False", "0", "False"]


def test_libmagic_identifies_a_system_binary_as_elf() -> None:
    """An ELF from /usr/bin is an executable or shared-object type with an ELF description.

    (From a buffer libmagic cannot read the dynamic section, so a PIE may be named
    ``x-sharedlib`` where ``file`` on the path says ``x-pie-executable``.)
    """
    result = identify(SYSTEM_BINARY.read_bytes())
    assert result["backend"] == "libmagic"
    assert result["mimetype"] in ELF_TYPES
    assert result["description"].startswith("ELF ")


def test_fallback_names_an_elf_binary_without_guessing_its_mime_type() -> None:
    """puremagic knows ELF by name but has no MIME type for it: octet-stream, not a guess."""
    result = identify(SYSTEM_BINARY.read_bytes(), backend="puremagic")
    assert result == {
        "mimetype": "application/octet-stream",
        "description": "ELF executable",
        "backend": "puremagic",
    }


@pytest.mark.parametrize(
    "content", [b"\x00\x01\x02\x03" * 64, b"text then a NUL\x00", b"caf\xe9 in latin-1\n"]
)
def test_fallback_calls_unsigned_binary_content_data(content: bytes) -> None:
    """Content with no signature and control bytes or invalid UTF-8 is ``data``."""
    result = identify(content, backend="puremagic")
    assert (result["mimetype"], result["description"]) == ("application/octet-stream", "data")


def test_fallback_survives_a_truncated_zip() -> None:
    """A zip cut before its directory is still named a zip, with the damage described."""
    result = identify(SAMPLES["zip"][:20], backend="puremagic")
    assert result["mimetype"] == "application/zip"
    assert "unreadable" in result["description"]


def test_auto_uses_libmagic_when_it_loads() -> None:
    """The default backend is libmagic on a machine that has it."""
    assert identify(SAMPLES["png"])["backend"] == "libmagic"


def no_libmagic_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without libmagic: no usual name opens and ``find_library`` finds none."""
    import ctypes.util

    from stoq_plugin_mimetype import libmagic

    monkeypatch.setattr(libmagic, "SONAMES", {sys.platform: ("libmagic-absent.so.404",)})
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)


def test_auto_falls_back_when_libmagic_is_not_found(monkeypatch, caplog) -> None:
    """No libmagic found gives puremagic results and a warning."""
    no_libmagic_anywhere(monkeypatch)
    with caplog.at_level("WARNING", logger="stoq"):
        result = identify(SAMPLES["zip"])
    assert result == {
        "mimetype": "application/zip",
        "description": "Zip archive data",
        "backend": "puremagic",
    }
    assert any("libmagic cannot be loaded" in record.getMessage() for record in caplog.records)


def test_auto_falls_back_when_the_shared_library_cannot_be_loaded(monkeypatch) -> None:
    """A libmagic that is found but fails to open (every name tried); the plugin carries on."""
    real_cdll = ctypes.CDLL
    tried = []

    def no_libmagic(name, *args, **kwargs):
        if name and "magic" in str(name):
            tried.append(name)
            raise OSError(f"{name}: cannot open shared object file")
        return real_cdll(name, *args, **kwargs)

    monkeypatch.setattr(ctypes, "CDLL", no_libmagic)
    result = identify(SAMPLES["pdf"])
    assert result["backend"] == "puremagic"
    assert result["mimetype"] == "application/pdf"
    assert tried


def test_forcing_libmagic_without_it_fails_to_load_with_the_cause(monkeypatch) -> None:
    """``backend = "libmagic"`` on a machine without it is a load error that says what to install."""
    no_libmagic_anywhere(monkeypatch)
    with (
        make_stoq(plugin_opts={"mimetype": {"backend": "libmagic"}}) as stoq,
        pytest.raises(StoqPluginLoadError, match=r"libmagic.*cannot be loaded.*libmagic1"),
    ):
        stoq.load_plugin("mimetype")


def test_an_unknown_backend_is_rejected() -> None:
    """A misspelt backend names the choices."""
    with (
        make_stoq(plugin_opts={"mimetype": {"backend": "libmagick"}}) as stoq,
        pytest.raises(StoqPluginLoadError, match="one of auto, libmagic, puremagic"),
    ):
        stoq.load_plugin("mimetype")


def test_plugin_class_is_the_entry_point() -> None:
    """The installed entry point ``mimetype`` loads this class."""
    with make_stoq() as stoq:
        assert isinstance(stoq.load_plugin("mimetype"), MimetypePlugin)


class TestMimetypeConformance(WorkerConformance):
    plugin_name = "mimetype"
    samples = (SYSTEM_BINARY, *SAMPLES.values())


class TestMimetypeFallbackConformance(WorkerConformance):
    plugin_name = "mimetype"
    plugin_opts: ClassVar[Dict[str, Any]] = {"backend": "puremagic"}
    samples = (SYSTEM_BINARY, *SAMPLES.values())


def test_hostile_corpus() -> None:
    """Hostile variants of real files of several formats, and inputs aimed at libmagic's text,
    JSON and CSV checks (deep nesting, one huge line, unbalanced quotes), each end in a result or
    an Error, in budget and memory, with both backends."""
    from stoq.testing import check_hostile_corpus

    extra = {
        "json-nested": b"[" * 200_000 + b"]" * 200_000,
        "json-unclosed": b'{"a":' * 100_000,
        "csv-quotes": b'"a,"b,' * 100_000,
        "one-line": b"x" * 2_000_000,
        "utf16-odd": b"\xff\xfe" + b"a\x00" * 100_000 + b"\x00",
        "nul-text": b"text\x00" * 100_000,
    }
    samples = [SAMPLES[name] for name in ("png", "pdf", "zip", "gzip")] + [
        SYSTEM_BINARY.read_bytes()[:65536]
    ]
    for backend in ("libmagic", "puremagic"):
        outcomes = check_hostile_corpus(
            "mimetype", samples, extra=extra, plugin_opts={"backend": backend}, per_kind=4
        )
        assert set(extra) <= set(outcomes) and len(outcomes) > 100
