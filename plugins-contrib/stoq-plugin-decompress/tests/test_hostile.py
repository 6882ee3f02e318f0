"""The hostile-input corpus, generated here, through real scans: each item finishes within
seconds with results, limit or error fields, and no exception escaping the plugin."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List

import decompress_samples as samples
import pytest
from decompress_harness import decompress

from stoq import Error, Stoq, StoqResponse
from stoq.testing import walk

TEXT = b"payload text that is the same everywhere\n"
MEMBERS = {"a.txt": TEXT, "b.bin": bytes(range(256)) * 4}

VALID: Dict[str, Callable[[], bytes]] = {
    "zip": lambda: samples.zip_archive(MEMBERS),
    "zip-aes": lambda: samples.aes_zip(MEMBERS, "infected"),
    "zip-zipcrypto": lambda: samples.zipcrypto_zip(MEMBERS, "infected"),
    "7z": lambda: samples.sevenzip(MEMBERS),
    "7z-encrypted": lambda: samples.sevenzip(MEMBERS, password="infected", header_encryption=True),
    "tar": lambda: samples.tar_archive(MEMBERS),
    "tar.gz": lambda: samples.tar_archive(MEMBERS, "gz"),
    "tar.bz2": lambda: samples.tar_archive(MEMBERS, "bz2"),
    "tar.xz": lambda: samples.tar_archive(MEMBERS, "xz"),
    "gzip": lambda: samples.STREAMS["gzip"](TEXT * 50),
    "bzip2": lambda: samples.STREAMS["bzip2"](TEXT * 50),
    "xz": lambda: samples.STREAMS["xz"](TEXT * 50),
    "lzma": lambda: samples.STREAMS["lzma"](TEXT * 50),
    "cpio": lambda: samples.libarchive_archive("cpio_newc", MEMBERS),
    "ar": lambda: samples.libarchive_archive("ar_svr4", MEMBERS),
    "iso9660": lambda: samples.libarchive_archive("iso9660", MEMBERS),
    "cab": lambda: samples.cabinet(MEMBERS),
    "rar": lambda: b"Rar!\x1a\x07\x01\x00" + bytes(random.Random(5).randbytes(200)),
}


def mangled(kind: str, data: bytes) -> List[bytes]:
    """Truncations at several points and seeded byte flips in the body."""
    rng = random.Random(kind)
    cuts = sorted({8, len(data) // 4, len(data) // 2, len(data) - 1})
    variants = [data[:cut] for cut in cuts if 0 < cut < len(data)]
    for _ in range(4):
        flipped = bytearray(data)
        for position in rng.sample(range(8, len(data)), min(16, len(data) - 8)):
            flipped[position] ^= 0xFF
        variants.append(bytes(flipped))
    return variants


@pytest.mark.parametrize("kind", sorted(VALID))
def test_truncated_and_corrupt_files_of_every_format(kind: str) -> None:
    """Every damaged variant gets results (with any problem in error fields), quickly."""
    for variant in mangled(kind, VALID[kind]()):
        started = time.monotonic()
        response = decompress(variant)
        assert time.monotonic() - started < 5
        results = response.results
        assert set(results) >= {"format", "members", "extracted", "limits_hit"}
        problems = [m for m in results["members"] if "error" in m or m.get("truncated")]
        errors = [e for e in response.errors if not isinstance(e, Error)]
        if errors:
            assert results.get("error") or problems, response.errors
        assert all(isinstance(e, str) for e in errors)
        assert all(e.stage == "limit" for e in response.errors if isinstance(e, Error))


def test_zero_byte_file_is_an_error_not_a_crash() -> None:
    """An empty payload is no archive: one clear error, no members."""
    response = decompress(b"")
    assert response.results["format"] is None
    assert response.extracted == []
    assert len(response.errors) == 1


def _scan(stoq: Stoq, data: bytes) -> StoqResponse:
    started = time.monotonic()
    response = stoq.scan(data)
    assert time.monotonic() - started < 20
    return response


def test_repeated_inner_archives_are_scanned_once_each(archive_stoq: Callable[..., Stoq]) -> None:
    """The same inner archive 20 times per level, at several depths: each distinct payload once."""
    inner = samples.zip_archive({"payload.txt": TEXT})
    deeper = samples.zip_archive({f"again{i}.zip": inner for i in range(5)})
    middle = samples.zip_archive(
        {**{f"copy{i}.zip": inner for i in range(20)}, "deeper.zip": deeper}
    )
    outer = samples.zip_archive({**{f"m{i}.zip": middle for i in range(10)}, "inner.zip": inner})
    response = _scan(archive_stoq(), outer)
    hashes = [r.sha256 for r in response.results]
    assert len(hashes) == len(set(hashes)) == 5  # outer, middle, inner, deeper, payload.txt
    runs = Counter(name for r in response.results for name in r.plugins_run["workers"][0])
    assert runs["decompress"] == 4
    middle_result = next(
        r for r in response.results if r.payload_meta.extra_data.get("filename") == "m0.zip"
    )
    members = middle_result.workers[0]["decompress"]["members"]
    assert sum(1 for m in members if m.get("duplicate_of") == "copy0.zip") == 19
    assert response.errors == []


def test_fifty_levels_of_nesting_stop_at_max_recursion(archive_stoq: Callable[..., Stoq]) -> None:
    """50 nested zips: the engine stops at max_recursion and reports the payload it left."""
    response = _scan(archive_stoq(max_recursion=10), samples.nested_zips(50))
    depths = [depth for depth, _ in walk(response)]
    assert max(depths) == 10
    [limit] = [e for e in response.errors if e.stage == "limit"]
    assert "max_recursion 10" in limit.error


def test_fifty_levels_of_nesting_all_open_when_allowed(archive_stoq: Callable[..., Stoq]) -> None:
    """With room for them, all 50 levels open and the innermost text is found."""
    response = _scan(archive_stoq(max_recursion=60), samples.nested_zips(50, b"found me\n"))
    depth, deepest = list(walk(response))[-1]
    assert depth == 50
    assert deepest.payload_meta.extra_data["filename"] == "bottom.txt"
    assert response.errors == []


TRAVERSAL = {
    "../../etc/passwd": b"fake passwd",
    "/etc/shadow": b"fake shadow",
    "C:\\Windows\\System32\\evil.dll": b"fake dll",
    "..\\..\\boot.ini": b"fake ini",
    "ok/../../../escape.txt": b"escape",
}


@pytest.mark.parametrize(
    "make",
    [
        lambda: samples.zip_archive(TRAVERSAL),
        lambda: samples.tar_archive(TRAVERSAL, "gz", links={"innocent": "/etc/passwd"}),
        lambda: samples.libarchive_archive("7zip", TRAVERSAL),
    ],
    ids=["zip", "tar.gz", "7z"],
)
def test_path_traversal_names_are_metadata_only(
    make: Callable[[], bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hostile names come back as text flagged unsafe; nothing is written anywhere."""
    monkeypatch.chdir(tmp_path)
    response = decompress(make())
    found = {e.payload_meta.extra_data["archive_path"]: e.content for e in response.extracted}
    assert found == TRAVERSAL
    flagged = {m["archive_path"] for m in response.results["members"] if m.get("unsafe_path")}
    assert flagged == set(TRAVERSAL)
    assert list(tmp_path.iterdir()) == []
    assert Path("/etc/passwd").read_bytes() != b"fake passwd"


def test_a_zip_member_with_an_empty_name_hides_nothing() -> None:
    """The bad member is extracted and reported; the executable beside it is still extracted."""
    data = samples.zip_archive({"malware.exe": b"MZ" + bytes(100), "other.txt": b"hello"})
    data = data.replace(b"other.txt", b"\x00" * 9)  # zipfile reads the name as ""
    response = decompress(data)
    names = [p.payload_meta.extra_data["filename"] for p in response.extracted]
    assert names == ["malware.exe", None]
    assert response.results["members"][1] == {"archive_path": "", "empty_name": True, "size": 5}
    assert any("empty name" in error for error in response.errors)


@pytest.mark.parametrize("cut", [4, 8, 20, 200])
def test_a_tgz_missing_its_last_bytes_is_reported(cut: int) -> None:
    data = samples.tar_archive({"a.bin": bytes(range(256)) * 40, "b.bin": TEXT * 300}, "gz")
    response = decompress(data[:-cut])
    assert "truncated or corrupt" in response.results["error"]
    assert any("truncated or corrupt" in error for error in response.errors)
    whole = decompress(data)
    assert "error" not in whole.results and whole.errors == []


def test_tar_names_that_are_not_utf8_keep_raw_and_readable_forms() -> None:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT, encoding="latin-1"
    ) as tar:
        for name, target in (("dir/caf\xe9.txt", None), ("lien\xe9", "caf\xe9.txt")):
            info = tarfile.TarInfo(name)
            if target is None:
                info.size = 2
                tar.addfile(info, io.BytesIO(b"hi"))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
    response = decompress(buffer.getvalue())
    meta = response.extracted[0].payload_meta.extra_data
    assert meta["archive_path"] == "dir/caf\\xe9.txt"  # the exact bytes, escaped
    assert meta["name_decoded"] == "dir/café.txt" and meta["filename"] == "café.txt"
    link = response.results["members"][1]
    assert link["archive_path"] == "lien\\xe9" and link["link"] == "caf\\xe9.txt"
    json.dumps(response.results).encode("utf-8")  # strict UTF-8: no surrogates left


def test_members_with_the_same_name_are_all_extracted_and_flagged() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("invoice.pdf", b"first, harmless")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("invoice.pdf", b"second, what an unzip would leave on disk")
    response = decompress(buffer.getvalue())
    assert len(response.extracted) == 2
    assert "same_name_as_earlier" not in response.results["members"][0]
    assert response.results["members"][1]["same_name_as_earlier"] is True
