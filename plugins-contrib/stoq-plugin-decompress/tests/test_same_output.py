"""The issue 15 shortcuts give exactly what the code before them gave.

Each shortcut is compared with the code it replaced (kept here as the reference): member
names (ASCII passes through untouched), unsafe paths, gzip format detection (zlib alone rules
out a tar), and zip members read until a short chunk instead of until an empty one. The
inputs are real: the default-profile benchmark's archives, system file names and gzips, and
damaged variants of each.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import struct
import sys
import tarfile
import zipfile
import zlib
from functools import partial
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import decompress_samples as samples
import pytest
from decompress_harness import decompress
from test_hostile import MEMBERS, mangled

from stoq_plugin_decompress import detect as detect_module
from stoq_plugin_decompress import extraction
from stoq_plugin_decompress.formats import stream_reader, zip_reader
from stoq_plugin_decompress.limits import CHUNK_SIZE

_DRIVE = re.compile(r"^[A-Za-z]:")


def reference_display_name(name: Any) -> Optional[str]:
    if name is None:
        return None
    if isinstance(name, bytes):
        return name.decode("utf-8", "backslashreplace")
    return str(name).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def reference_decoded_name(name: Any) -> Optional[str]:
    if name is None:
        return None
    raw = name if isinstance(name, bytes) else str(name).encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def reference_unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name)) or ".." in parts


def reference_detect(data: bytes) -> Optional[str]:
    fmt = detect_module._base_format(data)
    if fmt in detect_module.STREAM_OPENERS and detect_module.is_tar_header(
        detect_module._peek(fmt, data)
    ):
        return detect_module._TAR_SUFFIX[fmt]
    return fmt


def bench_corpus(zips: int = 8) -> List[bytes]:
    """The default-profile benchmark's archives, generated the way the benchmark does."""
    root = Path(__file__).resolve().parents[3] / "bench"
    assert (root / "default_profile.py").is_file(), f"the benchmark is missing from {root}"
    sys.path.insert(0, str(root))
    try:
        from default_profile import make_corpus
    finally:
        sys.path.remove(str(root))
    return make_corpus(zips, 50)


def system_names() -> Iterator[Any]:
    """File names of the system (as text and as bytes) and hostile shapes of names."""
    count = 0
    for root, dirs, files in os.walk("/usr/share"):
        dirs.sort()
        for name in [*dirs, *sorted(files)]:
            path = os.path.join(root, name)
            yield path
            yield path[1:]
            yield os.fsencode(path)
            count += 1
        if count > 3000:
            break
    assert count > 100, "the system has almost no files under /usr/share"
    yield from [
        "",
        "a/../b",
        "..",
        "a/..b",
        "..a/b",
        "a\\..\\b",
        "C:file",
        "c:\\windows",
        "\\srv\\share",
        "dir/",
        "caf\xe9.txt",
        "\u65e5\u672c.txt",
        "bad\udcff.txt",
        b"caf\xe9.txt",
        b"\xff\xfe/..",
        "x" * 300,
    ]


def test_member_names_are_read_as_before() -> None:
    for name in system_names():
        assert extraction.display_name(name) == reference_display_name(name), name
        assert extraction.decoded_name(name) == reference_decoded_name(name), name
        decoded = reference_decoded_name(name)
        assert decoded is not None
        assert extraction._unsafe(decoded) == reference_unsafe(decoded), name


def gzips() -> Iterator[bytes]:
    """System gzips, gzips of tars and of text, and gzip headers of every shape, whole and
    damaged."""
    found = sorted(Path("/usr/share/man").glob("**/*.gz"))[:60]
    found += sorted(Path("/usr/share/doc").glob("**/*.gz"))[:60]
    assert len(found) >= 20, "the system ships almost no gzip files here"
    valid = [path.read_bytes() for path in found]
    text = b"the text of a member, a little repetitive\n" * 40
    tar_gz = samples.tar_archive(MEMBERS, "gz")
    valid += [
        tar_gz,
        gzip.compress(samples.tar_archive(MEMBERS)),
        gzip.compress(text, mtime=0),
        gzip.compress(b"short"),
        samples.gzip_named("name.tar", samples.tar_archive(MEMBERS)),
        gzip.compress(b"x" * 100) + tar_gz,  # the tar is in the second member
        gzip.compress(b"") + tar_gz,
    ]
    body = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = body.compress(samples.tar_archive(MEMBERS)) + body.flush()
    for flags, extra in (
        (0x02, b"\x00\x00"),  # FHCRC with a wrong header CRC: GzipFile does not check it
        (0x20, b""),  # a reserved flag: zlib refuses the header, GzipFile ignores it
        (0x04, struct.pack("<H", 9000) + b"e" * 9000),  # FEXTRA past the first 8 KiB
        (0x10, b"a comment\x00"),
    ):
        valid.append(b"\x1f\x8b\x08" + bytes([flags]) + b"\x00" * 6 + extra + deflated)
    for data in valid:
        yield data
        yield from mangled("gzip", data)
    rng = random.Random(15)
    for _ in range(200):
        yield b"\x1f\x8b\x08" + rng.randbytes(rng.randrange(0, 600))


def test_gzip_detection_is_as_before() -> None:
    tars = 0
    for data in gzips():
        expected = reference_detect(data)
        assert detect_module.detect(data) == expected, data[:40]
        tars += expected == "tar.gz"
    assert tars >= 4


def gzip_streams() -> Iterator[bytes]:
    """``gzips()``, and the streams zlib must leave to GzipFile: more than one chunk, zero
    padding or a second member after the first, a trailer whose size lies either way."""
    yield from gzips()
    text = b"a line of text in a gzip stream\n" * 100
    whole = gzip.compress(text, mtime=0)
    yield gzip.compress(random.Random(2).randbytes(CHUNK_SIZE + 10), mtime=0)
    yield gzip.compress(bytes(CHUNK_SIZE), mtime=0)  # exactly one chunk
    yield whole + b"\x00" * 8
    yield whole + gzip.compress(b"second member", mtime=0)
    yield whole + b"trailing bytes"
    yield whole[:-4] + (len(text) + 1).to_bytes(4, "little")
    yield whole[:-4] + (CHUNK_SIZE + len(text)).to_bytes(4, "little")
    yield gzip.compress(bytes(3 * CHUNK_SIZE), mtime=0)[:-4] + (100).to_bytes(4, "little")
    yield gzip.compress(b"", mtime=0)


@pytest.mark.parametrize(
    "options",
    [{}, {"max_member_size": 3000}, {"max_total_bytes": 50000}, {"max_ratio": 2}],
)
def test_gzip_streams_are_read_as_before(
    monkeypatch: pytest.MonkeyPatch, options: Dict[str, Any]
) -> None:
    """zlib's one-call read of a small gzip gives what GzipFile gave, limits included."""
    streams = list(gzip_streams())
    read_by_zlib = sum(stream_reader.small_gzip(data) is not None for data in streams)
    new = [outcome(data, **options) for data in streams]
    monkeypatch.setattr(stream_reader, "small_gzip", lambda data: None)
    old = [outcome(data, **options) for data in streams]
    assert new == old
    assert read_by_zlib >= 100  # the comparison saw the shortcut at work
    assert sum(len(o["results"]["members"]) for o in new) > 100


def old_chunks(member: Any) -> Iterator[bytes]:
    return iter(partial(member.read, CHUNK_SIZE), b"")


def zips() -> Iterator[bytes]:
    """The benchmark's zips, zips of every compression, encrypted ones, damaged variants."""
    yield from bench_corpus()
    members = {**MEMBERS, "empty": b"", "big.bin": random.Random(1).randbytes(3 * CHUNK_SIZE)}
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2):
        yield samples.zip_archive(members, compression)
    yield samples.aes_zip(MEMBERS, "infected")
    yield samples.zipcrypto_zip(MEMBERS, "infected")
    yield samples.zipcrypto_zip(MEMBERS, "wrong")
    whole = samples.zip_archive(MEMBERS)
    yield from mangled("zip", whole)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("exact.bin", b"\x01" * CHUNK_SIZE)  # a member of one chunk exactly
    yield buffer.getvalue()


def outcome(data: bytes, **options: Any) -> Dict[str, Any]:
    response = decompress(data, plugin_opts=options)
    return {
        "results": response.results,
        "errors": [str(e) for e in response.errors],
        "extracted": [(e.content, e.payload_meta.extra_data) for e in response.extracted],
    }


@pytest.mark.parametrize("options", [{}, {"max_member_size": 3000}, {"max_total_bytes": 50000}])
def test_zip_members_are_read_as_before(
    monkeypatch: pytest.MonkeyPatch, options: Dict[str, Any]
) -> None:
    archives = list(zips())
    new = [outcome(data, **options) for data in archives]
    monkeypatch.setattr(zip_reader, "_chunks", old_chunks)
    old = [outcome(data, **options) for data in archives]
    assert new == old
    assert sum(len(o["extracted"]) for o in new) > 100  # the comparison saw real members


def test_tar_gz_archives_still_read_as_tars() -> None:
    """The shortcut never hides a tar: a real .tar.gz is still read as one archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("inner/file.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    response = decompress(buffer.getvalue())
    assert response.results["format"] == "tar.gz"
    assert [e.content for e in response.extracted] == [b"hello"]
