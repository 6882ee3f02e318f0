"""Tests for the ``iso`` plugin: the stoq conformance suite, then its own behaviour.

Every image is made here with pycdlib (a test dependency only; the plugin reads images with
the standard library), holding a real PE the machine ships (``stoq.testing.windows_pe``).
"""

from __future__ import annotations

import io
import struct
from typing import Any, Dict, Optional

import pycdlib
import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, run_plugin, walk, windows_pe

PE = windows_pe()
README = b"Open Invoice 2026.exe to view your invoice.\n"


def make_iso(extensions: Optional[Dict[str, Any]] = None, files: int = 0) -> bytes:
    """An image with /README.TXT and /DOCS/INVOICE.EXE (long names where the extension has them)."""
    extensions = extensions or {}
    joliet, rock, udf = (extensions.get(k) for k in ("joliet", "rock_ridge", "udf"))
    iso = pycdlib.PyCdlib()
    iso.new(vol_ident="INVOICE", **extensions)

    def names(path: str, long_path: str) -> Dict[str, str]:
        found: Dict[str, str] = {}
        if joliet:
            found["joliet_path"] = long_path
        if rock:
            found["rr_name"] = long_path.rsplit("/", 1)[-1]
        if udf:
            found["udf_path"] = long_path
        return found

    iso.add_directory("/DOCS", **names("/DOCS", "/Docs"))
    iso.add_fp(io.BytesIO(README), len(README), "/README.TXT;1", **names("", "/readme.txt"))
    iso.add_fp(
        io.BytesIO(PE), len(PE), "/DOCS/INVOICE.EXE;1", **names("", "/Docs/Invoice 2026.exe")
    )
    for index in range(files):
        data = b"%d\n" % index
        iso.add_fp(io.BytesIO(data), len(data), f"/F{index}.TXT;1")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


PLAIN = make_iso()


class TestIsoPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "iso"
    samples = (PLAIN, make_iso({"joliet": 3}))


@pytest.mark.parametrize(
    ("extensions", "readme", "invoice"),
    [
        ({}, "/README.TXT", "/DOCS/INVOICE.EXE"),
        ({"joliet": 3}, "/readme.txt", "/Docs/Invoice 2026.exe"),
        ({"rock_ridge": "1.09"}, "/readme.txt", "/Docs/Invoice 2026.exe"),
        ({"udf": "2.60"}, "/README.TXT", "/DOCS/INVOICE.EXE"),
    ],
    ids=["iso9660", "joliet", "rock-ridge", "udf-bridge"],
)
def test_members_are_extracted_with_their_paths(
    extensions: Dict[str, Any], readme: str, invoice: str
) -> None:
    """Each file comes out byte for byte, named by its path (long names where present)."""
    response = run_plugin("iso", "scan", make_iso(extensions))
    assert response.errors == []
    assert response.results["volume"]["volume_id"] == "INVOICE"
    assert response.results["volume"]["joliet"] == bool(extensions.get("joliet"))
    assert response.results["members"] == [
        {"path": readme, "size": len(README), "extracted": True},
        {"path": invoice, "size": len(PE), "extracted": True},
    ]
    assert [child.content for child in response.extracted] == [README, PE]
    assert response.extracted[1].payload_meta.extra_data == {
        "filename": invoice.rsplit("/", 1)[-1],
        "path": invoice,
    }


def test_not_an_iso_is_one_error() -> None:
    """A PE is not an image: the response carries one error, no results."""
    response = run_plugin("iso", "scan", PE)
    assert response.results is None
    assert len(response.errors) == 1
    assert "not an ISO 9660 image" in str(response.errors[0])


def test_truncated_image_reports_the_cut_member() -> None:
    """Cut inside the PE's data: README is extracted, the PE is reported as truncated."""
    cut = PLAIN[: PLAIN.index(PE[:4096]) + 1000]
    response = run_plugin("iso", "scan", cut)
    assert [child.content for child in response.extracted] == [README]
    assert response.results["skipped"] == [
        {"path": "/DOCS/INVOICE.EXE", "reason": "runs past the end of the image (truncated)"}
    ]


def test_image_cut_before_its_directories_is_an_error_or_a_problem() -> None:
    """Only the descriptors survive: nothing is extracted, the problem is named."""
    response = run_plugin("iso", "scan", PLAIN[: 19 * 2048])
    assert response.extracted == []
    assert any("runs past the end of the image" in p for p in response.results["problems"])


def test_corrupted_directory_record_is_a_problem_not_a_crash() -> None:
    """A directory record whose length byte is 3 stops that directory with a named problem."""
    iso = bytearray(PLAIN)
    root_extent = struct.unpack_from("<I", iso, 16 * 2048 + 156 + 2)[0]
    iso[root_extent * 2048 + 34 + 34] = 3  # the first record after "." and ".."
    response = run_plugin("iso", "scan", bytes(iso))
    assert response.extracted == []
    assert any("bad directory record" in p for p in response.results["problems"])


def test_directory_loop_is_read_once() -> None:
    """/DOCS pointed at the root directory: the walk notices the loop and ends."""
    iso = bytearray(PLAIN)
    root_extent = struct.unpack_from("<I", iso, 16 * 2048 + 156 + 2)[0]
    record = iso.index(b"DOCS", root_extent * 2048) - 33
    struct.pack_into("<I", iso, record + 2, root_extent)
    struct.pack_into(">I", iso, record + 6, root_extent)
    response = run_plugin("iso", "scan", bytes(iso))
    assert [m["path"] for m in response.results["members"]] == ["/README.TXT"]
    assert response.results["problems"] == ["/DOCS: directory seen before (a loop); not read again"]


def test_max_members_bounds_a_huge_directory() -> None:
    """300 files against max_members 50: 50 entries read, the rest reported."""
    response = run_plugin("iso", "scan", make_iso(files=300), plugin_opts={"max_members": 50})
    assert len(response.results["members"]) + 1 == 50  # /DOCS is one of the 50
    assert response.results["problems"] == ["/: more than 50 entries; the rest not read"]


def test_max_size_and_max_total_bound_extraction() -> None:
    """Members over ``max_size`` or past ``max_total`` are listed, not extracted."""
    small = run_plugin("iso", "scan", PLAIN, plugin_opts={"max_size": 1000})
    assert [child.content for child in small.extracted] == [README]
    assert small.results["skipped"] == [
        {"path": "/DOCS/INVOICE.EXE", "reason": "larger than max_size"}
    ]
    total = run_plugin("iso", "scan", PLAIN, plugin_opts={"max_total": len(PE)})
    assert total.results["skipped"] == [
        {"path": "/DOCS/INVOICE.EXE", "reason": "max_total reached"}
    ]


def test_full_scan_extracts_the_members_as_children(stoq_factory) -> None:
    """Through the engine, each member is a child payload of the image."""
    stoq = stoq_factory()
    response = stoq.scan(make_iso({"joliet": 3}), add_start_dispatch=["iso"])
    assert response.errors == []
    children = [result for depth, result in walk(response) if depth == 1]
    assert [c.payload_meta.extra_data["filename"] for c in children] == [
        "readme.txt",
        "Invoice 2026.exe",
    ]
    assert all(c.extracted_by == "iso" for c in children)


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real ISO images end in a result or an Error, in budget and memory."""
    check_hostile_corpus("iso", [PLAIN])
