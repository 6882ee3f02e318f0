"""The default profile on a realistic corpus: 200 zips of 50 mixed members each (text, JSON,
CSV, HTML, random bytes, gzip, PNG, PDF) and one chain (a zip holding a tar.gz holding a 7z),
scanned in process with ``Stoq(profile="default")`` (hash, entropy and mimetype on every
payload, the yara dispatcher, the results deep dispatcher; members found by yara's dispatch
rules and extracted by decompress), the JSON responses written.

The floor (bench/_floor.py) opens the same archives with the standard library, hashes every
payload with the hash plugin's default algorithms and writes the same-shaped JSON: what is left
between the two is the analysis (entropy, libmagic, yara) plus the engine. Both sides run in
this process, alternating round by round.
Target: stoQ's CPU time per payload is at most 8x the floor's.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import struct
import tarfile
import zipfile
import zlib
from typing import Callable, Dict, List

from _common import describe, in_process, interleave, median, report
from _floor import DEFAULT_ALGORITHMS, digests, dumps, new_id, result
from _floor import scan as bare_scan
from _mp_floor import Analysis, build_analysis

WORDS = [
    "stoq",
    "payload",
    "archive",
    "member",
    "scan",
    "plugin",
    "worker",
    "result",
    "dispatch",
    "yara",
    "entropy",
    "mime",
    "invoice",
    "report",
    "quarterly",
    "meeting",
    "attached",
    "please",
    "review",
    "the",
    "document",
    "before",
    "friday",
]


def text(rng: random.Random, size: int) -> bytes:
    words = [rng.choice(WORDS) for _ in range(size // 6)]
    lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
    return ("\n".join(lines) + "\n").encode()


def png(rng: random.Random, size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    side = max(2, int((size / 3) ** 0.5))
    rows = b"".join(b"\x00" + rng.randbytes(side * 3) for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def pdf(rng: random.Random, size: int) -> bytes:
    body = text(rng, size).replace(b"(", b"").replace(b")", b"")
    stream = b"BT /F1 12 Tf 72 712 Td (" + body + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


MAKERS: Dict[str, Callable[[random.Random, int], bytes]] = {
    "txt": text,
    "json": lambda rng, size: json.dumps(
        [{"id": rng.randrange(10**9), "word": rng.choice(WORDS)} for _ in range(size // 32)]
    ).encode(),
    "csv": lambda rng, size: (
        b"id,word,count\n"
        + b"".join(
            b"%d,%s,%d\n" % (i, rng.choice(WORDS).encode(), rng.randrange(999))
            for i in range(size // 16)
        )
    ),
    "html": lambda rng, size: (
        b"<!DOCTYPE html>\n<html><body><p>" + text(rng, size) + b"</p></body></html>\n"
    ),
    "bin": lambda rng, size: rng.randbytes(size),
    "gz": lambda rng, size: gzip.compress(text(rng, size * 3), mtime=0),
    "png": png,
    "pdf": pdf,
}


def make_corpus(zips: int, members: int, seed: int = 15) -> List[bytes]:
    rng = random.Random(seed)
    corpus = []
    kinds = list(MAKERS)
    for z in range(zips):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for m in range(members):
                kind = kinds[(z + m) % len(kinds)]
                size = rng.randrange(512, 4096)
                archive.writestr(f"docs/{z:03d}/member-{m:02d}.{kind}", MAKERS[kind](rng, size))
        corpus.append(buffer.getvalue())
    corpus.append(make_chain(rng))
    return corpus


def make_chain(rng: random.Random) -> bytes:
    """A zip holding a tar.gz holding a 7z holding two text files."""
    import py7zr

    seven = io.BytesIO()
    with py7zr.SevenZipFile(seven, "w") as archive:
        archive.writestr(text(rng, 2000), "inner/notes.txt")
        archive.writestr(text(rng, 3000), "inner/more.txt")
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("layer/inner.7z")
        info.size = len(seven.getvalue())
        archive.addfile(info, io.BytesIO(seven.getvalue()))
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("outer/layer.tar.gz", tar_buffer.getvalue())
    return outer.getvalue()


def parts_scan(analyse: Callable[[bytes], Analysis], content: bytes) -> int:
    """The default profile's plugins called directly on ``content`` and on everything they
    extract, each payload hashed and written as the floor does, and each content scanned once
    per request, as stoQ does (on this corpus no content comes twice); returns the payloads
    seen."""
    results = []
    pending = [content]
    seen = set()
    while pending:
        data = pending.pop()
        hashes = digests(data, DEFAULT_ALGORITHMS)
        if hashes["sha256"] in seen:
            continue
        seen.add(hashes["sha256"])
        workers, children, dispatch_meta, deep_meta = analyse(data)
        results.append(result(data, hashes, workers, meta=(dispatch_meta, deep_meta)))
        pending += children
    dumps({"scan_id": new_id(), "results": results, "errors": []})
    return len(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zips", type=int, default=200)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from stoq import Stoq

    corpus = make_corpus(args.zips, args.members)
    stoq = Stoq(profile="default")
    analyse = build_analysis()
    counts = {"stoq": 0, "bare": 0, "parts": 0}

    def framework() -> None:
        total = 0
        for content in corpus:
            response = stoq.scan(content)
            str(response)
            assert not response.errors, response.errors[:3]
            total += len(response.results)
        counts["stoq"] = total

    def bare() -> None:
        counts["bare"] = sum(bare_scan(content) for content in corpus)

    def parts() -> None:
        counts["parts"] = sum(parts_scan(analyse, content) for content in corpus)

    framework()  # warm: plugins loaded, rules compiled, numpy imported
    parts()
    sides = {"bare": in_process(bare), "stoq": in_process(framework), "parts": in_process(parts)}
    samples = interleave(sides, args.rounds)
    assert counts["stoq"] == counts["bare"] == counts["parts"], counts
    per_payload = describe(samples, 1e6 / counts["stoq"], "us/payload")
    cpu = {name: median(runs) for name, runs in samples.items()}
    ratio = cpu["stoq"] / cpu["bare"]
    report(
        "default_profile",
        "payload in a zip, default profile, time vs floor",
        ratio,
        "<= 8",
        ratio <= 8,
        {"payloads": counts["stoq"], **per_payload},
    )
    report(
        "default_profile",
        "the same, stoQ vs its plugins called directly (the engine's share)",
        cpu["stoq"] / cpu["parts"],
        "reported",
        None,
        {"parts vs floor (the analysis alone)": f"{cpu['parts'] / cpu['bare']:.2f}x"},
    )


if __name__ == "__main__":
    main()
