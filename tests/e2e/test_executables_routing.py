"""The default profile routes executables without flags: PE to pe, then .NET to dotnet (issue 14).

A fat Mach-O goes to macho and each extracted slice is scanned again; fuzzyhash runs on every
payload of 1 KiB or more. Every plugin that ran says why in the response (yara's dispatch meta,
results' deep-dispatch meta).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from stoq.sources import discover
from stoq.testing import make_stoq, pinned_sample

PLUGINS = ("yara", "results", "pe", "dotnet", "macho", "fuzzyhash")

RUNTIME = (
    "pythonnet-3.2.1-cp311.cp312.cp313.cp314.cp315-none-any.whl",
    "pythonnet/runtime/Python.Runtime.dll",
    "2ebd4492e28442ef1f1af587afe5b3a090c2ebfa220758ded4f1450f2a27f13a",
)
FAT_DYLIB = (
    "delocate-0.13.0.tar.gz",
    "delocate-0.13.0/delocate/tests/data/liba_both.dylib",
    "5d4bb5ec85d2ebd0bddddecbc0cfd37cc3edeb1dab438ea50d7ba56a8428ab9f",
)


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    missing = [name for name in PLUGINS if name not in discover()]
    if missing:
        pytest.fail(f"{missing} are not installed (nox -s cross installs every contrib plugin)")


def scan(where: tuple) -> Dict[str, Any]:
    with make_stoq(profile="default") as stoq:
        return json.loads(str(stoq.scan(pinned_sample(*where).read_bytes())))


def ran(result: Dict[str, Any]) -> List[str]:
    return [name for round_ in result["plugins_run"]["workers"] for name in round_]


def test_dotnet_assembly_goes_to_pe_then_dotnet() -> None:
    """yara's pe_executable rule runs pe; pe's dotnet flag makes results run dotnet."""
    response = scan(RUNTIME)
    root = response["results"][0]
    assert root["dispatch_meta"]["yara"]["pe_executable"]["plugin"] == "pe"
    workers = ran(root)
    assert workers.index("pe") < workers.index("dotnet")
    why = root["deep_dispatch_meta"]["results"]["dotnet-clr-header"]
    assert why["worker"] == "pe" and why["dispatch"] == ["dotnet"]
    found = {k: v for round_ in root["workers"] for k, v in round_.items()}
    assert found["pe"]["dotnet"] is True
    assert found["dotnet"]["assembly"]["name"] == "Python.Runtime"
    resources = [r for r in response["results"] if r["extracted_by"] == "dotnet"]
    assert {r["payload_meta"]["extra_data"]["filename"] for r in resources} >= {"clr.py"}


def test_fat_macho_goes_to_macho_and_each_slice_is_scanned() -> None:
    response = scan(FAT_DYLIB)
    root, slices = response["results"][0], response["results"][1:]
    assert "macho" in ran(root)
    assert "macho_executable" not in root["dispatch_meta"]["yara"]  # fat, not thin
    macho_slices = [r for r in slices if r["extracted_by"] == "macho"]
    assert len(macho_slices) == 2
    assert "macho_fat_binary" in root["dispatch_meta"]["yara"]
    for piece in macho_slices:
        assert "macho_executable" in piece["dispatch_meta"]["yara"]
        assert "macho" in ran(piece)


def test_fuzzyhash_runs_on_every_payload_above_the_minimum() -> None:
    """Each payload of 1 KiB or more (the assembly and its larger resources) gets both hashes."""
    response = scan(RUNTIME)
    for result in response["results"]:
        hashed = "fuzzyhash" in ran(result)
        assert hashed == (result["size"] >= 1024), result["payload_meta"]["extra_data"]
        if hashed:
            found = {k: v for round_ in result["workers"] for k, v in round_.items()}
            assert found["fuzzyhash"]["tlsh"].startswith("T1")
