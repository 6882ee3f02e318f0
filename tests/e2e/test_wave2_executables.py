"""End to end (issue 14, "Done when"): one ``stoq scan`` with the default profile of a zip
holding a Microsoft-signed DLL, an ELF executable of this system, a JPEG with EXIF, a PEM
bundle, a PE with a zip appended and a base64-encoded PE inside a text file.

The response must report each with the right plugin (pe with its Authenticode signer, elf,
exif, x509, carve finding the appended zip, b64decode decoding the PE), extract the appended
zip (decompress then opens it) and the decoded PE (pe then reads it), and say why each plugin
ran: every worker beyond the always-dispatched three is named by a rule in the payload's
``dispatch_meta`` (yara) or ``deep_dispatch_meta`` (results). The DLL, the JPEG and the PEM
bundle are real files from pinned distributions; the ELF and the launcher PE are the
machine's own; the zips and the base64 text are made here with zipfile and base64.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict

import pytest
from e2e_helpers import found, reasons, require_installed

from stoq.testing import elf_binary, pinned_sample

PLUGINS = (
    "hash", "entropy", "mimetype", "yara", "results", "decompress",
    "pe", "elf", "exif", "x509", "fuzzyhash", "carve", "b64decode", "xordecode",
)  # fmt: skip
ALWAYS = {"hash", "entropy", "mimetype"}
SIGNED_DLL = pinned_sample(
    "msvc_runtime-14.51.36231-cp313-cp313-win_amd64.whl",
    "msvc_runtime-14.51.36231.data/data/msvcp140_1.dll",
    "206c931bf90fdad8816de3b5e2ef80b2bcaa9406c89ecc05fe6fddffe251e982",
).read_bytes()
JPEG = pinned_sample(
    "olefile-0.47.zip",
    "olefile-0.47/tests/images/flower.jpg",
    "8a9d04b92d0de5836c59ede8ae421235488e4031e893e07b1fe7e4b78f6a9901",
).read_bytes()
PEM_BUNDLE = pinned_sample(
    "certifi-2024.8.30-py3-none-any.whl",
    "certifi/cacert.pem",
    "94edeb66e91774fcae93a05650914e29096259a5c7e871a1f65d461ab5201b47",
).read_bytes()
ELF = elf_binary()
STAGE2 = b"stage two: the second half of the dropper's work\n" * 40


def make_zip(members: Dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


APPENDED = make_zip({"stage2.txt": STAGE2})


def letter(windows_pe: bytes) -> bytes:
    """A text file carrying a PE as MIME-wrapped base64 between two paragraphs."""
    return (
        b"Hello,\n\nthe updated tool is below; save it as tool.exe and run it.\n\n"
        + base64.encodebytes(windows_pe)
        + b"\nThanks,\nIT support\n"
    )


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    require_installed(PLUGINS)


@pytest.fixture(scope="module")
def response(tmp_path_factory: pytest.TempPathFactory, windows_pe: bytes) -> Dict[str, Any]:
    """One ``stoq scan`` of the bundle with no configuration: the default profile."""
    folder = tmp_path_factory.mktemp("wave2")
    sample = folder / "bundle.zip"
    sample.write_bytes(
        make_zip(
            {
                "msvcp140_1.dll": SIGNED_DLL,
                "ls": ELF,
                "flower.jpg": JPEG,
                "cacert.pem": PEM_BUNDLE,
                "dropper.exe": windows_pe + APPENDED,
                "letter.txt": letter(windows_pe),
            }
        )
    )
    script = Path(sys.executable).with_name("stoq")
    done = subprocess.run(
        [str(script), "scan", "--jsonl", str(sample)],
        env={**os.environ, "STOQ_HOME": str(folder / "no-stoq-home")},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    return json.loads(line)


def member(response: Dict[str, Any], name: str) -> Dict[str, Any]:
    """The payload decompress took out of the bundle under ``name``."""
    [result] = [
        r
        for r in response["results"]
        if r["extracted_by"] == "decompress"
        and r["payload_meta"]["extra_data"].get("filename") == name
    ]
    return result


def by_sha256(response: Dict[str, Any], content: bytes) -> Dict[str, Any]:
    [result] = [
        r for r in response["results"] if r["sha256"] == hashlib.sha256(content).hexdigest()
    ]
    return result


def test_no_errors_and_every_worker_says_why_it_ran(response: Dict[str, Any]) -> None:
    assert response["errors"] == []
    for result in response["results"]:
        for worker in {w for r in result["plugins_run"]["workers"] for w in r} - ALWAYS:
            assert reasons(result, worker), (
                f"{worker} ran on {result['payload_meta']['extra_data']} with no rule naming it"
            )


def test_signed_dll_is_read_by_pe_with_its_signer(response: Dict[str, Any]) -> None:
    dll = member(response, "msvcp140_1.dll")
    assert reasons(dll, "pe") == ["yara:pe_executable"]
    pe = found(dll, "pe")
    assert pe["exports"]["dll_name"] == "MSVCP140_1.dll"
    assert "O=Microsoft Corporation" in pe["authenticode"]["signer"]
    assert pe["authenticode"]["verifies"] is True


def test_elf_is_read_by_elf(response: Dict[str, Any]) -> None:
    ls = member(response, "ls")
    assert reasons(ls, "elf") == ["yara:elf_executable"]
    elf = found(ls, "elf")
    assert elf["class"] in ("ELF64", "ELF32")
    assert elf["type"] in ("DYN", "EXEC")


def test_jpeg_metadata_is_read_by_exif(response: Dict[str, Any]) -> None:
    jpeg = member(response, "flower.jpg")
    assert reasons(jpeg, "exif")
    exif = found(jpeg, "exif")
    assert (exif["make"], exif["model"]) == ("Canon", "Canon PowerShot S40")


def test_pem_bundle_is_read_by_x509_and_not_decoded_again(response: Dict[str, Any]) -> None:
    bundle = member(response, "cacert.pem")
    assert "yara:x509_certificate_pem" in reasons(bundle, "x509")
    x509 = found(bundle, "x509")
    assert x509["count"] == PEM_BUNDLE.count(b"-----BEGIN CERTIFICATE-----")
    # The certificates' base64 is x509's to read: b64decode leaves PEM bodies alone.
    decoded = found(bundle, "b64decode")
    assert decoded["decoded"] == []
    assert decoded["runs"]["pem"] == x509["count"]


def test_appended_zip_is_carved_and_opened(response: Dict[str, Any], windows_pe: bytes) -> None:
    dropper = member(response, "dropper.exe")
    assert "yara:payload_above_minimum_size" in reasons(dropper, "carve")
    carve = found(dropper, "carve")
    assert carve["host"] == {"type": "pe", "size": len(windows_pe)}
    assert carve["carved"] == [{"offset": len(windows_pe), "type": "zip", "size": len(APPENDED)}]
    hidden = by_sha256(response, APPENDED)
    # pe takes the same bytes out as the overlay; whichever comes first is scanned, once.
    assert hidden["extracted_by"] in ("carve", "pe")
    assert hidden["extracted_from"] == dropper["payload_id"]
    assert "yara:zip_archive" in reasons(hidden, "decompress")
    assert [m["archive_path"] for m in found(hidden, "decompress")["members"]] == ["stage2.txt"]
    assert by_sha256(response, STAGE2)["extracted_from"] == hidden["payload_id"]


def test_base64_pe_in_text_is_decoded_and_read(response: Dict[str, Any], windows_pe: bytes) -> None:
    text = member(response, "letter.txt")
    assert reasons(text, "b64decode") == ["results:text-decoders"]
    [entry] = found(text, "b64decode")["decoded"]
    assert entry["size"] == len(windows_pe)
    decoded = by_sha256(response, windows_pe)
    assert (decoded["extracted_by"], decoded["extracted_from"]) == ("b64decode", text["payload_id"])
    assert reasons(decoded, "pe") == ["yara:pe_executable"]
    assert found(decoded, "pe")["machine"] in ("AMD64", "I386", "ARM64")


def test_fuzzyhash_runs_on_every_payload_of_1_kib(response: Dict[str, Any]) -> None:
    for result in response["results"]:
        ran = {w for r in result["plugins_run"]["workers"] for w in r}
        assert ("fuzzyhash" in ran) == (result["size"] >= 1024), result["payload_meta"]
        if result["size"] >= 1024:
            assert found(result, "fuzzyhash")["tlsh"].startswith("T1")
