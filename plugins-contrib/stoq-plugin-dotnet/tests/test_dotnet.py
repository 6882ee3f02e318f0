"""Tests for the ``dotnet`` worker on pythonnet's Python.Runtime.dll, a real .NET assembly.

Its embedded resources are Python files whose sources pythonnet's sdist ships
(``src/runtime/Resources``): the extracted resources must be those files, byte for byte.
"""

from __future__ import annotations

import random
import struct

import pytest

from stoq.testing import (
    WorkerConformance,
    check_hostile_corpus,
    hostile_variants,
    pinned_sample,
    run_plugin,
    walk,
)
from stoq_plugin_dotnet.metadata import _public_key_token

RUNTIME = pinned_sample(
    "pythonnet-3.2.1-cp311.cp312.cp313.cp314.cp315-none-any.whl",
    "pythonnet/runtime/Python.Runtime.dll",
    "2ebd4492e28442ef1f1af587afe5b3a090c2ebfa220758ded4f1450f2a27f13a",
)
NATIVE_DLL = pinned_sample(
    "msvc_runtime-14.51.36231-cp313-cp313-win_amd64.whl",
    "msvc_runtime-14.51.36231.data/data/msvcp140_1.dll",
    "206c931bf90fdad8816de3b5e2ef80b2bcaa9406c89ecc05fe6fddffe251e982",
)
SOURCES = {
    "clr.py": "f785c3221a7530b1f8d3e811618650ae38c3413d77a669b52a5b5aef0a601901",
    "interop.py": "312875cd019619a2b28b73cba701dc40db8ecf1bf44779ba4c1162e026144f8b",
}


def scan(data: bytes, **options: object):
    return run_plugin("dotnet", "scan", data, plugin_opts=options or None)


@pytest.fixture(scope="module")
def runtime() -> object:
    """One scan of the assembly, shared: dnfile takes a second or two to read its tables."""
    return scan(RUNTIME.read_bytes())


class TestDotnetPluginConformance(WorkerConformance):
    plugin_name = "dotnet"
    samples = (RUNTIME, NATIVE_DLL)


def test_assembly_identity(runtime) -> None:
    """Python.Runtime 3.2.1.0, for the .NET 4 runtime, IL only and strong-name signed."""
    results = runtime.results
    assert results["assembly"]["name"] == "Python.Runtime"
    assert results["assembly"]["version"] == "3.2.1.0"
    assert results["module"] == "Python.Runtime.dll"
    assert results["runtime_version"] == "v4.0.30319"
    assert results["flags"] == ["CLR_ILONLY", "CLR_STRONGNAMESIGNED"]
    assert len(results["assembly"]["public_key_token"]) == 16


def test_references_and_pinvoke_modules(runtime) -> None:
    results = runtime.results
    assert {"name": "netstandard", "version": "2.0.0.0"} in results["references"]
    assert "kernel32.dll" in results["module_references"]
    assert results["counts"]["pinvoke_methods"] > 0
    assert results["counts"]["types"] > 100 and results["counts"]["methods"] > 1000
    assert "Python.Runtime" in results["namespaces"]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_embedded_resources_are_the_sources_pythonnet_ships(runtime, name: str) -> None:
    """Each resource listed is extracted, and equals the file in pythonnet's sdist."""
    source = pinned_sample(
        "pythonnet-3.2.1.tar.gz", f"pythonnet-3.2.1/src/runtime/Resources/{name}", SOURCES[name]
    ).read_bytes()
    [payload] = [e for e in runtime.extracted if e.payload_meta.extra_data["filename"] == name]
    assert payload.content == source
    [entry] = [r for r in runtime.results["resources"] if r["name"] == name]
    assert entry["size"] == len(source)


def test_extraction_limit_is_reported() -> None:
    response = scan(RUNTIME.read_bytes(), max_extracted=1)
    assert len(response.extracted) == 1
    skipped = response.results["not_extracted"]
    assert len(skipped) == len(response.results["resources"]) - 1
    assert {s["reason"] for s in skipped} == {"max_extracted"}


def test_public_key_token_of_the_ecma_key() -> None:
    """ECMA-335's standard public key has the well-known token b77a5c561934e089."""
    assert _public_key_token(bytes(8) + b"\x04" + bytes(7)) == "b77a5c561934e089"


def test_native_dll_gives_nothing() -> None:
    """A PE without a CLR header is not an assembly: no results and no error."""
    assert scan(NATIVE_DLL.read_bytes()) is None


def test_not_a_pe_gives_nothing() -> None:
    assert scan(b"not a PE at all") is None


def test_clr_header_with_unreadable_metadata_is_one_error() -> None:
    """The metadata signature overwritten: the CLR header promises metadata that is not there."""
    data = RUNTIME.read_bytes().replace(b"BSJB", b"XXXX", 1)
    response = scan(data)
    assert response.results is None
    assert "metadata is unreadable" in str(response.errors[-1])


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.9])
def test_truncated_assembly(fraction: float) -> None:
    data = RUNTIME.read_bytes()
    response = scan(data[: int(len(data) * fraction)])
    assert response.results is not None or response.errors


def test_corrupted_metadata_never_raises() -> None:
    """Random bytes changed in the metadata root and stream headers: a response every time."""
    data = RUNTIME.read_bytes()
    root = data.find(b"BSJB")  # the metadata signature
    assert root > 0
    rng = random.Random(14)
    for _ in range(6):
        copy = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            copy[root + rng.randrange(256)] = rng.randrange(256)
        response = scan(bytes(copy))
        assert response.results is not None or response.errors


def test_huge_declared_stream_size() -> None:
    """The #~ stream header claims 2 GiB: an error or bounded results, no exception."""
    data = bytearray(RUNTIME.read_bytes())
    root = data.find(b"BSJB")
    version_length = struct.unpack_from("<I", data, root + 12)[0]
    first_stream = root + 16 + version_length + 4
    struct.pack_into("<I", data, first_stream + 4, 0x7FFFFFFF)
    response = scan(bytes(data))
    assert response.results is not None or response.errors


def test_full_scan_extracts_resources_as_children(stoq_factory) -> None:
    stoq = stoq_factory()
    response = stoq.scan(RUNTIME.read_bytes(), add_start_dispatch=["dotnet"])
    assert response.errors == []
    children = [r for depth, r in walk(response) if depth == 1]
    assert {c.payload_meta.extra_data["filename"] for c in children} >= set(SOURCES)


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real .NET assemblies end in a result or an Error, in budget and memory."""
    # One full read of this 441 KiB assembly takes seconds: every third variant keeps it short.
    variants = hostile_variants(RUNTIME.read_bytes(), per_kind=2)[::3]
    check_hostile_corpus("dotnet", [], extra=dict(variants), budget=20)
