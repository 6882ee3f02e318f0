"""Behaviour of the ``hash`` worker on real files, checked against hashlib and coreutils."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stoq import StoqPluginLoadError
from stoq.testing import WorkerConformance, make_stoq
from stoq_plugin_hash.plugin import CHUNK_SIZE, HashPlugin, parse_algorithms

SYSTEM_BINARY = Path(shutil.which("ls") or "/bin/ls").resolve()


def hash_results(content: bytes, **options: object) -> dict:
    """Scan ``content`` with only the hash worker and return its results."""
    with make_stoq(always_dispatch=["hash"], plugin_opts={"hash": options}) as stoq:
        response = stoq.scan(content)
    assert response.errors == []
    return response.results[0].workers[0]["hash"]


@pytest.mark.parametrize("tool", ["md5sum", "sha1sum", "sha256sum", "sha512sum"])
def test_default_digests_match_coreutils_on_a_system_binary(tool: str) -> None:
    """Each default digest of /usr/bin/ls equals what coreutils prints for the file."""
    expected = subprocess.run(
        [tool, str(SYSTEM_BINARY)], check=True, capture_output=True, text=True
    ).stdout.split()[0]
    results = hash_results(SYSTEM_BINARY.read_bytes())
    assert results[tool[: -len("sum")]] == expected


def test_default_algorithms_are_reported_in_order() -> None:
    """Without options the worker reports md5, sha1, sha256, sha512 in that order."""
    assert list(hash_results(b"stoq")) == ["md5", "sha1", "sha256", "sha512"]


def test_payload_larger_than_one_chunk_hashes_like_hashlib() -> None:
    """Content spanning several chunks (and a partial last one) gives hashlib's digests."""
    content = os.urandom(3 * CHUNK_SIZE + 12345)
    results = hash_results(content)
    for name in ("md5", "sha1", "sha256", "sha512"):
        assert results[name] == hashlib.new(name, content).hexdigest()


def test_empty_payload_has_the_digests_of_nothing() -> None:
    """An empty payload still gets digests: those of the empty string."""
    results = hash_results(b"")
    assert results["sha256"] == hashlib.sha256(b"").hexdigest()
    assert results["md5"] == hashlib.md5(b"").hexdigest()


def test_algorithms_option_accepts_a_comma_separated_string() -> None:
    """A command-line style value picks the set, case-insensitively, without duplicates."""
    content = SYSTEM_BINARY.read_bytes()
    results = hash_results(content, algorithms="SHA3_256, blake2b,sha3_256")
    assert results == {
        "sha3_256": hashlib.sha3_256(content).hexdigest(),
        "blake2b": hashlib.blake2b(content).hexdigest(),
    }


def test_extendable_output_functions_use_twice_their_strength() -> None:
    """shake_128 gives 32 bytes and shake_256 gives 64 bytes of output."""
    results = hash_results(b"stoq", algorithms=["shake_128", "shake_256"])
    assert results["shake_128"] == hashlib.shake_128(b"stoq").hexdigest(32)
    assert results["shake_256"] == hashlib.shake_256(b"stoq").hexdigest(64)


def test_unknown_algorithm_fails_to_load_naming_it() -> None:
    """A misspelt algorithm stops the plugin from loading, and the error says which."""
    with (
        make_stoq(plugin_opts={"hash": {"algorithms": "sha256,sha265"}}) as stoq,
        pytest.raises(StoqPluginLoadError, match="unknown algorithm 'sha265'"),
    ):
        stoq.load_plugin("hash")


def test_unknown_algorithm_in_a_scan_becomes_a_load_error() -> None:
    """Scanning with a bad algorithm set reports a load error instead of crashing."""
    with make_stoq(always_dispatch=["hash"], plugin_opts={"hash": {"algorithms": "nope"}}) as stoq:
        response = stoq.scan(b"data")
    assert [(e.plugin_name, e.stage) for e in response.errors] == [("hash", "load")]
    assert "nope" in response.errors[0].error


def test_empty_algorithm_list_is_rejected() -> None:
    """An empty set would silently hash nothing, so it is an error."""
    with pytest.raises(ValueError, match="'algorithms' is empty"):
        parse_algorithms("")


def test_plugin_class_is_the_entry_point() -> None:
    """The installed entry point ``hash`` loads this class."""
    with make_stoq() as stoq:
        assert isinstance(stoq.load_plugin("hash"), HashPlugin)


class TestHashConformance(WorkerConformance):
    plugin_name = "hash"
    samples = (SYSTEM_BINARY,)
