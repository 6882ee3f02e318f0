"""The smaller databases for ASCII text answer what libmagic answers with its whole database."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import magic
import pytest

from stoq_plugin_mimetype import plugin, textrules
from stoq_plugin_mimetype.libmagic import database_path
from stoq_plugin_mimetype.plugin import HEAD_BYTES, TEXT_LIMIT, load_libmagic
from stoq_plugin_mimetype.records import SEARCH, byte_mask, regex_needs
from stoq_plugin_mimetype.textrules import (
    TEXT_BYTES,
    RuleSet,
    binary,
    exclusion_table,
    read_rules,
)

DATABASE = database_path()
pytestmark = pytest.mark.skipif(DATABASE is None, reason="libmagic's database is not one file")

WORDS = ["stoq", "payload", "archive", "member", "scan", "plugin", "invoice", "report", "the"]
#: Per folder: how many files (every n-th, sorted), at most this size.
FOLDERS = {"/etc": 500, "/usr/share/common-licenses": 40, "/usr/share/doc": 500, "/usr/bin": 300}
#: Folders of binary files (shared libraries, compressed documentation, images, Python
#: bytecode, terminfo, gettext catalogues): how many files of each.
BINARY_FOLDERS = {"/usr/lib": 600, "/usr/share": 600, "/usr/bin": 150}
MAX_FILE = 256 * 1024


def words(rng: random.Random, size: int) -> str:
    """Lines of random words, like the benchmark's text members."""
    chosen = [rng.choice(WORDS) for _ in range(size // 6)]
    return "\n".join(" ".join(chosen[i : i + 12]) for i in range(0, len(chosen), 12)) + "\n"


def generated() -> Iterator[Tuple[str, bytes]]:
    """The benchmark's member kinds, texts that trigger many text rules, hostile inputs, and
    text of sizes around TEXT_LIMIT."""
    rng = random.Random(15)
    for size in (600, 2000, 4000):
        text = words(rng, size)
        yield f"text {size}", text.encode()
        yield (
            f"json {size}",
            json.dumps([{"id": rng.randrange(10**9), "w": w} for w in text.split()[:40]]).encode(),
        )
        yield (
            f"csv {size}",
            b"id,word\n"
            + b"".join(b"%d,%s\n" % (i, w.encode()) for i, w in enumerate(text.split())),
        )
        yield f"html {size}", f"<!DOCTYPE html>\n<html><body><p>{text}</p></body></html>\n".encode()
        yield f"gzip {size}", gzip.compress(text.encode(), mtime=0)
        yield f"random {size}", rng.randbytes(size)
    snippets = [
        "#!/bin/sh\necho hi\n",
        "#! /usr/bin/env python3\nimport os\n",
        "<?php echo 1; ?>\n",
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>\n',
        "From: a@b\nTo: c@d\nSubject: x\n\nbody\n",
        "\\documentclass{article}\n\\begin{document}\n",
        "%!PS-Adobe-3.0\n",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        "module.exports = require('x');\n",
        '"use strict";\nconst a = require("b");\n',
        "typeof x === 'y'\n",
        "#include <stdio.h>\nint main(void) { return 0; }\n",
        'package main\n\nimport "fmt"\n',
        "public class A { private int b; }\n",
        'msgid ""\nmsgstr ""\n',
        "BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n",
        "[Desktop Entry]\nName=x\n",
        "\t.text\n\t.globl main\nmain:\n",
        "a\tb\tc\td\te\tf\tg\th\ti\tj\tk\tl\n",
        "-----BEGIN PGP SIGNATURE-----\n",
        "{\\rtf1\\ansi x}\n",
        ".TH X 1\n.SH NAME\n",
        "x" * 3000,
        "a\r\nb\r\n",
        "text with \x1b[1mescapes\x1b[0m\n",
        "over\bstrike\n",
        "x" * 100_000 + "\n",
        "CFLAGS=-O2\nall:\n\tcc x.c\n",
        "cflags=-O2\nall:\n",
        "STARTFONT 2.1\nFONT x\n",
        "% SiSU text\n",
        "P1\n2 2\n0 1\n1 0\n",
        "Kernel Configuration\n",
        "0 HEAD\n1 SOUR x\n",
        "the <HTML> report\n",
        "class Foo\n  def bar\n  end\nend\n",
        "begin 644 notes.txt\nM86)C\n`\nend\n",
        "export default function f() {}\n",
        "import x from './y'\nexport const c = 1;\n",
        "<html><head><TITLE>x</TITLE><script>var a</script></head></html>\n",
        "<!DOCTYPE  SVG>\n<svg></svg>\n",
        "<TABLE>\n<tr><td>x</td></tr></table>\n",
        "<style>p { }</style>\n",
        "% SiSU insert\n",
        "tEDAx v1\n",
        "module Foo\n  class Bar\n  end\nend\n",
        "Start Component x\n",
        "0\n",
    ]
    for number, snippet in enumerate(snippets):
        yield f"snippet {number}", snippet.encode()
        yield f"snippet {number} in text", (words(rng, 1500) + snippet + words(rng, 500)).encode()
    for size in (TEXT_LIMIT - 1, TEXT_LIMIT, TEXT_LIMIT + 1, 2, 3, 1, 0):
        yield f"text of {size} bytes", (words(rng, size + 10).encode() * 2)[:size]
    hostile = {
        "json-nested": b"[" * 20_000 + b"]" * 20_000,
        "json-unclosed": b'{"a":' * 10_000,
        "csv-quotes": b'"a,"b,' * 10_000,
        "one-line": b"x" * 200_000,
        "utf16-odd": b"\xff\xfe" + b"a\x00" * 10_000 + b"\x00",
        "nul-text": b"text\x00" * 10_000,
        "del-text": b"text\x7f" * 100,
        "ebcdic": "HELLO <HTML>".encode("cp500") * 50,
    }
    yield from hostile.items()


def shipped() -> Iterator[Tuple[str, bytes]]:
    """Files the system ships: every n-th regular file of each folder, up to MAX_FILE bytes."""
    for folder, count in FOLDERS.items():
        paths = sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())
        for path in paths[:: max(1, len(paths) // count)]:
            try:
                if path.stat().st_size <= MAX_FILE:
                    yield str(path), path.read_bytes()
            except OSError:
                continue


def _png(rng: random.Random, side: int) -> bytes:
    """An RGB PNG of random pixels (signature, IHDR, IDAT, IEND, each CRC'd)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def _archive(kind: str, members: List[Tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in members:
                archive.writestr(name, content)
    else:
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, content in members:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def generated_binary() -> Iterator[Tuple[str, bytes]]:
    """Binary formats, random bytes (also after each format's first bytes), content with NULs
    that starts like text, text only before trailing NULs, UTF-16/32 with byte-order marks,
    and an ID3 tag whose ``indirect`` finds another format after it."""
    rng = random.Random(16)
    text = words(rng, 3000).encode()
    formats = {
        "gzip": gzip.compress(text, mtime=0),
        "gzip mtime": gzip.compress(text),
        "bzip2": bz2.compress(text),
        "xz": lzma.compress(text),
        "zip": _archive("zip", [("a.txt", text), ("b.bin", rng.randbytes(500))]),
        "tar": _archive("tar", [("a.txt", text)]),
        "png": _png(rng, 20),
        "pdf": b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 9 >>\nstream\n\0\x01x\nendstream\n",
        "elf": Path("/usr/bin/env").read_bytes(),
        "id3 gzip": b"ID3\x03\x00\x00\x00\x00\x00\x00" + gzip.compress(text, mtime=0),
        "id3 mpeg": b"ID3\x03\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x00" + bytes(413)) * 3,
        "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + rng.randbytes(300),
        "utf-16le": "\ufeffstoq payload\n".encode("utf-16-le"),
        "utf-16be": "\ufeffstoq payload\n".encode("utf-16-be"),
        "utf-32le": "\ufeffstoq payload\n".encode("utf-32-le"),
        "utf-32be": "\ufeffstoq payload\n".encode("utf-32-be"),
        "utf-7 nul": b"+/v8 x\0y",
        "text then nuls": text + bytes(100),
        "text nul text": text[:200] + b"\0" + text[200:],
        "script nul": b"#!/bin/sh\necho hi\n\0\x01\x02",
        "html nul": b"<!DOCTYPE html>\n<html>\0</html>\n",
        "json nul": b'{"a": "\0"}',
        "nul after 64k": text * 30 + b"\0x",
        "nul first": b"\0" + text,
        "two bytes": b"\0\x01",
        "nuls": bytes(3000),
    }
    yield from formats.items()
    for name, content in list(formats.items()):
        for size in (4, 16, 100):
            yield f"{name} head {size} + random", content[:size] + rng.randbytes(2000)
    for size in (2, 3, 15, 16, 17, 82, 83, 600, 2000, 9000):
        for number in range(3):
            yield f"random {size} #{number}", rng.randbytes(size)
    for first in range(256):
        yield f"random from {first}", bytes([first]) + rng.randbytes(700) + b"\0"
    yield from searched(rng)


def searched(rng: random.Random) -> Iterator[Tuple[str, bytes]]:
    """Binary content holding the words of the searches libmagic compares byte by byte
    (``<!doctype svg`` within 4096 bytes, case and whitespace folded; ``id=ImageMagick``
    within 256), at the last start each search tries and just past it (after bytes that no
    rule holding an ``indirect`` starts with, which would keep every rule)."""
    svg = b"<!DOCTYPE svg>\n<svg></svg>\n"
    yield "svg after nul", b"\0\x01" + svg
    yield "svg folded", rng.randbytes(300) + b"\0<!doctype\t\tSvG>" + rng.randbytes(200)
    for start in (4095, 4096):
        yield f"svg at {start}", rng.randbytes(start - 1) + b"\0" + svg
    for start in (3, 255, 256):
        magick = b"\xaa" * (start - 1) + b"\0id=ImageMagick\n" + rng.randbytes(500)
        yield f"imagemagick at {start}", magick


def shipped_binary() -> Iterator[Tuple[str, bytes]]:
    """Binary files the system ships: every n-th regular file of each folder."""
    for folder, count in BINARY_FOLDERS.items():
        paths = sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())
        found = 0
        for path in paths[:: max(1, len(paths) // (count * 3))]:
            try:
                content = path.read_bytes()[:HEAD_BYTES]
            except OSError:
                continue
            if binary(content):
                found += 1
                yield str(path), content
            if found == count:
                break


def differences(
    identify: Callable[[bytes], Tuple[str, str]], corpus: List[Tuple[str, bytes]]
) -> List[str]:
    """Where ``identify`` differs from libmagic's whole database (two handles, default flags)."""
    by_mime, by_text = magic.Magic(mime=True), magic.Magic()
    found = []
    for name, content in corpus:
        head = content[:HEAD_BYTES]
        want = (by_mime.from_buffer(head), by_text.from_buffer(head))
        got = identify(content)
        if got != want:
            found.append(f"{name}: {got} != {want}")
    return found


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Smaller databases from the first text on, so that the corpus exercises them."""
    monkeypatch.setattr(plugin, "READ_AFTER", 1)
    monkeypatch.setattr(plugin, "BUILD_AFTER", 1)


def test_answers_equal_the_whole_database_on_a_corpus(every_database: None) -> None:
    """Files from /etc, /usr/share/doc, /usr/bin and the licences, the benchmark's kinds,
    texts aimed at the text rules and hostile inputs: identical MIME types and descriptions,
    each text with the database built for its bytes."""
    corpus = [*generated(), *shipped()]
    texts = [c for _, c in corpus if 1 < len(c) <= TEXT_LIMIT and not c.translate(None, TEXT_BYTES)]
    assert len(corpus) > 1000 and len(texts) > 300
    assert differences(load_libmagic(), corpus) == []


def test_a_wrong_analysis_is_caught(eager: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison can fail: rules said to need a tab are dropped from text without one."""
    real = textrules.record_needs
    monkeypatch.setattr(textrules, "record_needs", lambda record: real(record) + (1 << 9,))
    corpus = [item for item in generated() if item[0].startswith(("html", "snippet"))]
    assert len(differences(load_libmagic(), corpus)) > 10


def test_text_lacking_a_binary_search_word_drops_the_search() -> None:
    """The binary pass's ``<!doctype svg`` search (case and whitespace folded) is left out
    for HTML, kept for SVG text in any case and spacing."""
    assert DATABASE is not None
    rules = read_rules(DATABASE)
    assert rules is not None
    everything = rules.keeps((1 << 256) - 1)
    svg = sum(
        1 << i
        for i, (record, _) in enumerate(rules.rules)
        if record[6] == SEARCH and record[32:].startswith(b"<!doctype svg")
    )
    assert svg
    html = b"<!doctype html>\n<html><body><p>report</p></body></html>\n"
    assert rules.text_drops(everything, html) & svg == svg
    for text in (b"<!DOCTYPE svg>", b"<!doctype\t\tSvG PUBLIC>", b"x <!DOCTYPE  SVG"):
        assert rules.text_drops(everything, text.lower()) & svg == 0


def test_a_wrong_text_search_analysis_is_caught(
    every_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison can fail: SVG text loses its type when every such search is dropped."""
    monkeypatch.setattr(
        RuleSet, "text_drops", lambda self, kept, lowered: kept & sum(s[0] for s in self._searches)
    )
    found = differences(load_libmagic(), list(generated()))
    assert any("SVG" in line for line in found), found


def test_the_split_rebuilds_the_database() -> None:
    """All rules kept gives back libmagic's file byte for byte; letters alone keep few."""
    assert DATABASE is not None
    rules = read_rules(DATABASE)
    assert rules is not None
    everything = rules.keeps((1 << 256) - 1)
    assert rules.database(everything) == Path(DATABASE).read_bytes()
    letters = sum(byte_mask(b) for b in b"abcdefghijklmnopqrstuvwxyz \n")
    assert bin(rules.keeps(letters)).count("1") < len(rules.rules) // 3


def excluded_by_definition(at: Dict[int, int], value: int) -> int:
    """The rules whose test does not allow ``value``: one group at a time."""
    excluded = 0
    for bytes_allowed, rules in at.items():
        if not bytes_allowed >> value & 1:
            excluded |= rules
    return excluded


def test_exclusion_tables_are_what_each_group_excludes() -> None:
    """Every position binary content is read at, every byte value: the precomputed rules it
    excludes are those of the groups whose allowed bytes lack it (libmagic's database)."""
    assert DATABASE is not None
    rules = read_rules(DATABASE)
    assert rules is not None
    compared = 0
    for where, table in rules._excluded.items():
        at = rules._at.get(where, {})
        assert table == [excluded_by_definition(at, value) for value in range(256)], where
        compared += sum(1 for rules_excluded in table if rules_excluded)
    assert compared > 16 * 200  # the first 16 positions, most values excluding something


def test_exclusion_table_with_a_rule_in_two_groups() -> None:
    """A rule testing one position twice (two groups): excluded when either test refuses."""
    at = {byte_mask(ord("a"), 0): 0b011, byte_mask(ord("b"), 0) | byte_mask(ord("a"), 0): 0b110}
    table = exclusion_table(at)
    assert table == [excluded_by_definition(at, value) for value in range(256)]
    assert table[ord("a")] == 0 and table[ord("b")] == 0b011 and table[0] == 0b111


@pytest.mark.parametrize(
    ("pattern", "needs"),
    [
        (b"^export (function|class) ", ["e", "x", "p", "o", "r", "t", " ", "fc"]),
        (b"\\((async )?function[( ]", ["(", "f", "u", "n", "c", "t", "i", "o", "( "]),
        (b"^[ \t]{0,50}\\.text", [".", "t", "e", "x"]),
        (b"typeof.*[!=]==", ["t", "y", "p", "e", "o", "f", "!=", "="]),
        (b"a|b", ["ab"]),
        (b"(a|b*)c", ["c"]),
        (b"x\\w+y", ["x", "y"]),
        (b"[^<]+>", [">"]),
        (b"[[:digit:]]+z{2}q{0,3}", ["0123456789", "z"]),
    ],
)
def test_regex_needs(pattern: bytes, needs: List[str]) -> None:
    """What an expression needs: sets of bytes, one of each must be present (letters in
    either case)."""
    assert set(regex_needs(pattern)) == {_mask(group) for group in needs}


def _mask(group: str) -> int:
    mask = 0
    for char in group.encode():
        mask |= byte_mask(char)
    return mask


@pytest.mark.parametrize("pattern", [b"a**", b"(ab", b"ab)", b"[ab", b"[[.a.]]", b"x{a}", b"\\"])
def test_regex_needs_nothing_when_not_understood(pattern: bytes) -> None:
    """An expression it cannot read keeps its rule."""
    assert regex_needs(pattern) == ()


def test_a_database_it_cannot_read_disables_nothing_but_the_shortcut(tmp_path: Path) -> None:
    """A file that is not a version 18 database gives no rules, not an error."""
    (tmp_path / "magic.mgc").write_bytes(b"\x00" * 376)
    assert read_rules(str(tmp_path / "magic.mgc")) is None
    assert read_rules(str(tmp_path / "absent.mgc")) is None
    with pytest.raises(ValueError, match="version 18"):
        RuleSet(b"\x1c\x04\x1e\xf1" + b"\x00" * 100)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """The size of each libmagic database loaded from here on (0: the whole default one)."""
    from stoq_plugin_mimetype import libmagic

    sizes: List[int] = []

    class Counted(libmagic.Libmagic):
        def __init__(self, database: Optional[bytes] = None) -> None:
            super().__init__(database)
            sizes.append(len(database) if database is not None else 0)

    monkeypatch.setattr(libmagic, "Libmagic", Counted)
    return sizes


def test_text_handles_are_built_and_reused(eager: None, built: List[int]) -> None:
    """The benchmark's text takes the shortcut: one smaller database for all of it."""
    identify = load_libmagic()
    rng = random.Random(1)
    for _ in range(20):
        assert identify(words(rng, 2000).encode()) == ("text/plain", "ASCII text")
    assert len(built) == 2 and 0 < built[1] < Path(str(DATABASE)).stat().st_size


def test_a_much_bigger_database_serves_only_until_the_own_one_is_built(
    eager: None, built: List[int]
) -> None:
    """HTML's database has every rule plain text can match but four times as many: plain
    text seen after HTML gets its own (it cost 4.6 times as much on HTML's)."""
    identify = load_libmagic()
    rng = random.Random(3)
    page = "<!DOCTYPE html>\n<html><body><p>{}</p></body></html>\n"
    html = [(f"html {n}", page.format(words(rng, 900)).encode()) for n in range(3)]
    plain = [(f"text {n}", words(rng, 900).encode()) for n in range(3)]
    assert differences(identify, html + plain) == []
    assert len(built) == 3 and built[2] < built[1]


@pytest.fixture
def every_database(eager: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every database a payload asks for is built and kept: the corpus exercises each."""
    monkeypatch.setattr(plugin, "DATABASES", 10_000)
    monkeypatch.setattr(plugin, "BUILD_EVERY", 1)


def test_binary_answers_equal_the_whole_database(every_database: None) -> None:
    """Binary files from /usr/lib, /usr/share and /usr/bin (ELF, gzip, PNG, bytecode,
    terminfo, catalogues, ...) and generated formats, random bytes and near misses: identical
    MIME types and descriptions with the databases built for their first bytes."""
    corpus = [*generated_binary(), *shipped_binary()]
    assert sum(binary(content) for _, content in corpus) > 1400
    assert differences(load_libmagic(), corpus) == []


def test_binary_is_what_libmagic_calls_binary() -> None:
    """Content said to be binary has libmagic's encoding 'binary' (no text pass); content
    with NULs that libmagic reads as text (byte-order marks, trailing NULs) is not binary."""
    encoding = magic.Magic(mime_encoding=True)
    corpus = dict(generated_binary())
    for name, content in corpus.items():
        if binary(content):
            assert encoding.from_buffer(content) == "binary", name
    for name in ("utf-16le", "utf-16be", "utf-32le", "utf-32be", "text then nuls", "nul after 64k"):
        assert not binary(corpus[name]), name
    assert binary(corpus["text nul text"]) and binary(corpus["gzip"])


@pytest.mark.parametrize("broken", ["positions", "indirect", "searches"])
def test_a_wrong_binary_analysis_is_caught(
    every_database: None, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """The comparison can fail: positions read one byte off, or an ``indirect`` ignored (an
    ID3 tag followed by gzip loses its 'contains: gzip compressed data')."""
    if broken == "positions":
        real = textrules.record_positions
        shifted = lambda record: tuple((p + 1, a) for p, a in real(record))  # noqa: E731
        monkeypatch.setattr(textrules, "record_positions", shifted)
    elif broken == "indirect":
        monkeypatch.setattr(textrules, "INDIRECT", -1)
        monkeypatch.setattr(textrules, "indirect_names", lambda named: frozenset())
    else:
        real_search = textrules.record_search
        short = lambda record: (lambda s: s and (s[0], s[1] - 1, s[2]))(real_search(record))  # noqa: E731
        monkeypatch.setattr(textrules, "record_search", short)
    found = differences(load_libmagic(), list(generated_binary()))
    if broken == "searches":  # the window one byte short: only the last start is missed
        assert [name.split(":")[0] for name in found] == ["svg at 4095", "imagemagick at 255"]
        return
    assert len(found) > (10 if broken == "positions" else 0)
    assert broken == "positions" or any(name.startswith("id3 gzip") for name in found)


def test_binary_handles_are_built_and_shared(eager: None, built: List[int]) -> None:
    """Random bytes share one small database whatever their first byte; gzip gets its own."""
    identify = load_libmagic()
    rng = random.Random(2)
    corpus = [(f"random {n}", rng.randbytes(2000) + b"\0") for n in range(40)]
    assert differences(identify, corpus) == []
    formats = sum(identify(content)[1] != "data" for _, content in corpus)  # by chance
    assert formats < 5 and len(built) <= 2 + formats
    before = len(built)
    gzips = [(f"gzip {n}", gzip.compress(words(rng, 900).encode(), mtime=0)) for n in range(5)]
    assert differences(identify, gzips) == []
    full = Path(str(DATABASE)).stat().st_size
    assert len(built) == before + 1 and all(0 < size < full // 2 for size in built[1:])


def test_rules_preloaded_before_consumers_fork_are_not_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``MimetypePlugin.preload`` (run in the parent before `scan -j` / run mode fork) reads the
    rules once; a consumer's shortcuts then take them instead of reading the database again."""
    from stoq_plugin_mimetype.libmagic import Libmagic

    monkeypatch.setattr(textrules, "PRELOADED", {})
    plugin.MimetypePlugin.preload()
    preloaded = textrules.PRELOADED[str(DATABASE)]
    assert preloaded is not None and len(preloaded.rules) > 1000

    def read_again(path: str) -> None:
        raise AssertionError(f"{path} read again")

    monkeypatch.setattr(textrules, "read_rules", read_again)
    shortcuts = plugin.Shortcuts(Libmagic())
    for i in range(plugin.READ_AFTER):
        shortcuts.get(b"\x00\x01 binary %d" % i)
    assert shortcuts._rules is preloaded
