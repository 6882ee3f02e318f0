"""Per-payload limits: member count, member size, total bytes, expansion ratio — never silent."""

from __future__ import annotations

import gc
import io
import os
import tarfile
import time
import tracemalloc
import zipfile
from typing import Any, Callable, Tuple

import decompress_samples as samples
import pytest
from decompress_harness import decompress

from stoq_plugin_decompress.limits import RATIO_FLOOR

MIB = 1024 * 1024


def zeros_zip(size: int) -> bytes:
    """A zip bomb: ``size`` zero bytes deflate to about a thousandth of that."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w") as member,
    ):
        chunk = bytes(MIB)
        for _ in range(size // MIB):
            member.write(chunk)
    return buffer.getvalue()


class _Zeros(io.RawIOBase):
    """A readable stream of zeros, so a huge tar member costs no memory to write."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def zeros_tar_gz(size: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        info = tarfile.TarInfo("zeros.bin")
        info.size = size
        archive.addfile(info, io.BufferedReader(_Zeros(size)))
    return buffer.getvalue()


def measured(run: Callable[[], Any]) -> Tuple[Any, float, int]:
    """Result, seconds and peak Python memory (bytes) of ``run()``."""
    gc.collect()
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, time.monotonic() - started, peak


@pytest.mark.parametrize(
    "make",
    [
        lambda: zeros_zip(200 * MIB),
        lambda: samples.STREAMS["gzip"](bytes(200 * MIB)),
        lambda: zeros_tar_gz(200 * MIB),
        lambda: samples.sevenzip({"zeros.bin": bytes(100 * MIB)}),
    ],
    ids=["zip", "gzip", "tar.gz", "7z"],
)
def test_bombs_stop_at_the_ratio_without_allocating_the_whole(make: Callable[[], bytes]) -> None:
    """Tens of MiB of zeros packed into KiB stop at max_ratio, fast and in bounded memory."""
    bomb = make()
    cap = max(100 * len(bomb), RATIO_FLOOR)
    response, seconds, peak = measured(lambda: decompress(bomb))
    assert response.extracted == []
    [hit] = response.results["limits_hit"]
    assert hit.startswith("max_ratio 100:")
    assert seconds < 10
    # Beyond the cap: decoder state (a 7z's LZMA dictionary is 16 MiB) and Python's own.
    assert peak < 3 * cap + 32 * MIB, f"peak {peak} bytes for a cap of {cap}"


def test_ratio_limit_is_an_option() -> None:
    """A higher max_ratio lets the same archive through."""
    data = samples.STREAMS["gzip"](bytes(3 * MIB))
    assert decompress(data).results["limits_hit"]
    response = decompress(data, plugin_opts={"max_ratio": 10_000})
    assert response.results["limits_hit"] == []
    assert response.extracted[0].content == bytes(3 * MIB)


def test_small_compressible_payloads_are_not_bombs() -> None:
    """Below RATIO_FLOOR decompressed bytes the ratio is not enforced (100 KB of text is fine)."""
    text = b"a" * 100_000
    response = decompress(samples.STREAMS["bzip2"](text))
    assert response.results["limits_hit"] == []
    assert response.extracted[0].content == text


def test_member_count_limit_stops_and_says_so() -> None:
    """Past max_members extraction stops, with the limit in limits_hit."""
    data = samples.zip_archive({f"file{i:02}.txt": f"member {i}".encode() for i in range(50)})
    response = decompress(data, plugin_opts={"max_members": 10})
    assert len(response.extracted) == 10
    assert response.results["limits_hit"] == ["max_members 10 reached; later members not extracted"]


@pytest.mark.parametrize("fmt", ["zip", "tar", "7z", "cpio"])
def test_oversized_member_is_skipped_and_the_rest_extracted(fmt: str) -> None:
    """A member over max_member_size is listed as skipped; the members after it still come."""
    members = {
        "small1.txt": b"small one",
        "big.bin": os.urandom(300_000),
        "small2.txt": b"small two",
    }
    data = {
        "zip": lambda: samples.zip_archive(members),
        "tar": lambda: samples.tar_archive(members),
        "7z": lambda: samples.sevenzip(members),
        "cpio": lambda: samples.libarchive_archive("cpio_newc", members),
    }[fmt]()
    response = decompress(data, plugin_opts={"max_member_size": 100_000})
    assert sorted(e.content for e in response.extracted) == [b"small one", b"small two"]
    assert {"archive_path": "big.bin", "skipped": "max_member_size"} in response.results["members"]
    [hit] = response.results["limits_hit"]
    assert hit.startswith("max_member_size 100000: member 'big.bin'")


def test_a_member_lying_about_its_size_is_still_cut_at_the_limit() -> None:
    """A gzip stream declares no size at all; the sink stops reading at max_member_size."""
    data = samples.STREAMS["gzip"](os.urandom(3 * MIB))
    response = decompress(data, plugin_opts={"max_member_size": MIB})
    assert response.extracted == []
    assert response.results["members"] == [{"archive_path": None, "skipped": "max_member_size"}]


def test_total_bytes_limit_stops_extraction() -> None:
    """The payload's members together may not pass max_total_bytes."""
    members = {f"part{i}.bin": os.urandom(400_000) for i in range(4)}
    response = decompress(samples.zip_archive(members), plugin_opts={"max_total_bytes": 1_000_000})
    assert len(response.extracted) == 2
    [hit] = response.results["limits_hit"]
    assert hit == "max_total_bytes 1000000 reached at member 'part2.bin'; extraction stopped"
    assert response.results["total_bytes"] == 800_000


def test_duplicate_members_are_extracted_once() -> None:
    """Identical members become one payload; the others point at it."""
    data = samples.zip_archive({"a.txt": b"same", "b.txt": b"same", "c.txt": b"other"})
    response = decompress(data)
    assert [e.content for e in response.extracted] == [b"same", b"other"]
    assert {"archive_path": "b.txt", "size": 4, "duplicate_of": "a.txt"} in response.results[
        "members"
    ]


def test_a_limit_reached_is_a_limit_error_in_the_response(archive_stoq) -> None:
    """A cut bomb is not a clean result: the response has a `limit` Error (the CLI exits 1)."""
    bomb = samples.STREAMS["gzip"](bytes(3 * MIB))
    response = archive_stoq().scan(bomb)
    [error] = response.errors
    assert (error.plugin_name, error.stage) == ("decompress", "limit")
    assert "max_ratio 100" in error.error
