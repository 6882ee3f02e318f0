"""Tests for the ``fuzzyhash`` worker: near-identical files score as similar, others do not."""

from __future__ import annotations

import gzip
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import ppdeep
import pytest
import tlsh

from stoq.testing import WorkerConformance, check_hostile_corpus, elf_binary, run_plugin, walk
from stoq_plugin_fuzzyhash import _spamsum, plugin, spamsum
from stoq_plugin_fuzzyhash.spamsum import ssdeep

# The compiled ssdeep must be there (imported above): py-tlsh already needs a compiler, so
# every test environment has one, and a broken build must fail here, not run the numpy one.
compiled_ssdeep = _spamsum.ssdeep

LS = Path(shutil.which("ls") or "/bin/ls").resolve()
#: ssdeep's form: block size (3 × a power of two), then the two piecewise hashes.
SSDEEP = re.compile(r"^(\d+):[0-9A-Za-z+/]*:[0-9A-Za-z+/]*$")


def hashes(data: bytes, **options: object) -> Optional[dict]:
    response = run_plugin("fuzzyhash", "scan", data, plugin_opts=options or None)
    return None if response is None else response.results


def patched(data: bytes) -> bytes:
    """The same binary with a few hundred bytes changed in the middle, as a patch would."""
    middle = len(data) // 2
    return data[:middle] + b"\x90" * 300 + data[middle + 300 :]


class TestFuzzyhashPluginConformance(WorkerConformance):
    plugin_name = "fuzzyhash"
    samples = (LS,)


def test_both_hashes_of_a_real_binary() -> None:
    results = hashes(elf_binary())
    match = SSDEEP.match(results["ssdeep"])
    assert match and int(match.group(1)) % 3 == 0
    assert results["tlsh"].startswith("T1") and len(results["tlsh"]) == 72
    assert results["skipped"] == {}


def test_a_patched_binary_scores_as_similar() -> None:
    """Changing 300 bytes of ls keeps ssdeep's match score high and TLSH's distance small."""
    original, changed = hashes(elf_binary()), hashes(patched(elf_binary()))
    assert original["ssdeep"] != changed["ssdeep"]
    assert ppdeep.compare(original["ssdeep"], changed["ssdeep"]) >= 80
    assert tlsh.diff(original["tlsh"], changed["tlsh"]) <= 30


def test_unrelated_content_scores_as_different() -> None:
    """ls against its own gzip: no ssdeep match, a large TLSH distance."""
    binary, packed = hashes(elf_binary()), hashes(gzip.compress(elf_binary()))
    assert ppdeep.compare(binary["ssdeep"], packed["ssdeep"]) == 0
    assert tlsh.diff(binary["tlsh"], packed["tlsh"]) > 200


def system_files() -> list:
    """Up to 64 KiB of files the system ships: licences, configuration, binaries."""
    paths = sorted(Path("/usr/share/doc").glob("*/copyright"))[:12]
    paths += sorted(Path("/etc").glob("*.conf"))[:10] + sorted(Path("/usr/bin").glob("*"))[:8]
    files = []
    for path in paths:
        try:
            files.append(path.read_bytes()[:65536])
        except OSError:
            continue
    return files


def first_block(size: int) -> int:
    """The block size spamsum tries first for ``size`` bytes."""
    block = 3
    while block * 64 < size:
        block *= 2
    return block


def cut_where_blocks_end(data: bytes) -> list:
    """Prefixes of ``data`` whose last byte ends a block of the size their length starts with."""
    rolled = spamsum._rolling(np.frombuffer(data, dtype=np.uint8))
    cuts = []
    for block in (3, 6, 12, 24, 48, 96, 192):
        ends = np.flatnonzero(rolled % block == block - 1)
        cuts += [data[: end + 1] for end in ends if first_block(end + 1) == block][:4]
    return cuts


def reference_corpus() -> list:
    """Real files, their pieces at every block-size boundary, and the shapes that reach each
    branch of spamsum: empty, tiny, uniform (no block ever ends), low variety, long enough to
    fill the strings, block sizes retried, content whose rolling hash ends at 0 (the last 7
    bytes zero) after full strings, and content whose last byte ends a block."""
    rng = random.Random(15)
    real = [elf_binary(), Path(__file__).read_bytes(), gzip.compress(elf_binary())]
    corpus = [b"", b"a", b"A" * 5000, b"\0" * 3000, b"\0" * 7, b"ab" * 40000, b"abc\n" * 900]
    for data in real:
        corpus += [data[:size] for size in (1, 191, 192, 193, 1024, 3072, 6145, 100_000)]
        corpus.append(data)
    corpus += system_files()
    for size in list(range(2, 200, 7)) + [rng.randrange(200, 40_000) for _ in range(60)]:
        corpus.append(rng.randbytes(size))
        corpus.append(bytes(rng.choice(b"ab \n") for _ in range(size)))
    for size in (1000, 1024, 2500, 4096, 12_000, 30_000):
        corpus.append(rng.randbytes(size) + b"\0" * 7)
        corpus.append(bytes(rng.choice(b"ab \n") for _ in range(size)) + b"\0" * 7)
    corpus += cut_where_blocks_end(rng.randbytes(14_000))
    return corpus


def test_the_corpus_reaches_every_branch() -> None:
    """What the comparison below relies on: each branch happens somewhere in the corpus."""
    corpus = reference_corpus()
    hashes = [ppdeep.hash(data).split(":") for data in corpus]
    zero_end = [data.endswith(b"\0" * 7) for data in corpus]
    assert any(first == second == "" for _block, first, second in hashes)  # no block ever ended
    assert any(len(first) == 64 and end for (_b, first, _s), end in zip(hashes, zero_end))
    assert any(len(second) == 32 and end for (_b, _f, second), end in zip(hashes, zero_end))
    assert any(len(first) == 64 and not end for (_b, first, _s), end in zip(hashes, zero_end))
    retried = [int(block) < first_block(len(data)) for (block, _f, _s), data in zip(hashes, corpus)]
    assert any(retried)
    block_at_end = [
        spamsum._rolling(np.frombuffer(data, dtype=np.uint8))[-1] % int(block) == int(block) - 1
        for (block, _f, _s), data in zip(hashes, corpus)
        if data and not data.endswith(b"\0" * 7)
    ]
    assert any(block_at_end)


def test_ssdeep_is_ppdeeps_hash_character_for_character() -> None:
    """Both implementations give exactly what the pure-Python reference (ppdeep) gives."""
    for data in reference_corpus():
        expected = ppdeep.hash(data)
        assert ssdeep(data) == expected, len(data)
        assert compiled_ssdeep(data) == expected, len(data)


def boundary_lengths() -> list:
    """Lengths where spamsum's behaviour changes: the 7-byte window, and on either side of
    each first block size's upper limit (3 * 2**k * 64 bytes), up to 6 MiB."""
    small = [0, 1, 2, 6, 7, 8, 63, 64, 65]
    return small + [192 * 2**k + d for k in range(16) for d in (-1, 0, 1)]


def test_compiled_ssdeep_at_every_boundary_length() -> None:
    """Random content, runs of one byte and text at each boundary length: the compiled hash
    equals the numpy one, and ppdeep's up to 64 KiB (ppdeep takes ~1 s per MiB). Runs of one
    byte and text up to 1 MiB and 64 KiB: random content alone keeps the test fast above."""
    rng = random.Random(17)
    words = Path(__file__).read_bytes()
    for size in boundary_lengths():
        contents = [rng.randbytes(size)] + ([b"\0" * size] if size <= 1 << 20 else [])
        if size <= 65536:
            contents += [b"A" * size, (words * (size // len(words) + 1))[:size]]
        for data in contents:
            expected = ssdeep(data)
            assert compiled_ssdeep(data) == expected, size
            if size <= 65536:
                assert expected == ppdeep.hash(data), size


def library_files() -> list:
    """Executables and shared libraries the system ships: 300, their first 64 KiB."""
    paths = sorted(Path("/usr/bin").glob("*"))[:150] + sorted(Path("/usr/lib").rglob("*.so*"))
    files = []
    for path in paths:
        if len(files) == 300 or not path.is_file():
            continue
        try:
            with path.open("rb") as file:
                files.append(file.read(65536))
        except OSError:
            continue
    return files


def test_compiled_ssdeep_on_system_binaries() -> None:
    files = library_files()
    assert len(files) == 300, f"only {len(files)} files under /usr/bin and /usr/lib"
    for index, data in enumerate(files):
        expected = ssdeep(data)
        assert compiled_ssdeep(data) == expected, index
        if index % 25 == 0:
            assert expected == ppdeep.hash(data), index


def test_compiled_ssdeep_takes_any_bytes_like_object() -> None:
    data = elf_binary()
    expected = ssdeep(data)
    assert compiled_ssdeep(bytearray(data)) == expected
    assert compiled_ssdeep(memoryview(data)) == expected
    with pytest.raises(TypeError):
        compiled_ssdeep("text")


def test_the_plugin_runs_the_compiled_ssdeep() -> None:
    assert plugin.ssdeep is compiled_ssdeep
    assert hashes(elf_binary())["ssdeep"] == ppdeep.hash(elf_binary())


#: Imports the plugin with its compiled module hidden, as on a machine without a C compiler.
WITHOUT_EXTENSION = """
import sys
from importlib.abc import MetaPathFinder

class NoExtension(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "stoq_plugin_fuzzyhash._spamsum":
            raise ImportError("no compiled ssdeep")
        return None

sys.meta_path.insert(0, NoExtension())
from stoq.testing import run_plugin
from stoq_plugin_fuzzyhash import plugin, spamsum
assert plugin.ssdeep is spamsum.ssdeep, plugin.ssdeep
print(run_plugin("fuzzyhash", "scan", sys.stdin.buffer.read()).results["ssdeep"])
"""


def test_without_the_extension_the_numpy_ssdeep_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTENSION],
        input=elf_binary(),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == ppdeep.hash(elf_binary())


def test_ssdeep_in_small_chunks_is_the_same(monkeypatch) -> None:
    """The rolling hash and the bit planes built a chunk at a time."""
    monkeypatch.setattr(spamsum, "_CHUNK", 96)  # a multiple of 8, as _planes needs
    for data in reference_corpus()[::3]:
        assert ssdeep(data) == ppdeep.hash(data), len(data)


def test_fnv_states_are_ppdeeps_byte_by_byte() -> None:
    """The bit-sliced FNV state (the carries from lower bits) against ppdeep's table, after
    every byte, blocks restarting at random offsets."""
    rng = random.Random(16)
    data = rng.randbytes(5000)
    starts = np.array(sorted({0} | {rng.randrange(5000) for _ in range(300)}))
    restarts = set(starts.tolist())
    expected, state = [], 0
    for offset, byte in enumerate(data):
        state = ppdeep.byte_table[byte][0x27 if offset in restarts else state]
        expected.append(state)
    planes = spamsum._planes(np.frombuffer(data, dtype=np.uint8))
    assert spamsum._states(planes, len(data), starts, np.arange(len(data))) == expected


def test_payloads_below_the_minimum_are_not_hashed() -> None:
    assert hashes(b"x" * 1023) is None
    assert hashes(os.urandom(100), min_size=50)["tlsh"] is not None


def test_ssdeep_size_limit_is_reported() -> None:
    results = hashes(elf_binary(), max_ssdeep_size=1000)
    assert results["ssdeep"] is None
    assert results["skipped"] == {"ssdeep": "larger than max_ssdeep_size"}
    assert results["tlsh"] is not None


def test_tlsh_size_limit_is_reported() -> None:
    results = hashes(elf_binary(), max_ssdeep_size=1000, max_tlsh_size=2000)
    assert results["ssdeep"] is None and results["tlsh"] is None
    assert results["skipped"] == {
        "ssdeep": "larger than max_ssdeep_size",
        "tlsh": "larger than max_tlsh_size",
    }
    assert hashes(elf_binary(), max_tlsh_size=len(elf_binary()))["tlsh"] is not None


def test_uniform_content_has_no_tlsh_and_says_why() -> None:
    results = hashes(b"A" * 5000)
    assert results["tlsh"] is None
    assert "tlsh" in results["skipped"]
    assert SSDEEP.match(results["ssdeep"])


def test_full_scan(stoq_factory) -> None:
    stoq = stoq_factory()
    response = stoq.scan(elf_binary(), add_start_dispatch=["fuzzyhash"])
    assert response.errors == []
    [(_depth, result)] = list(walk(response))
    assert result.workers[0]["fuzzyhash"]["tlsh"] == tlsh.hash(elf_binary())


def test_hostile_corpus() -> None:
    """Seeded hostile variants of real executables end in a result or an Error, in budget and memory."""
    check_hostile_corpus("fuzzyhash", [LS.read_bytes()])
