"""Behaviour of the ``entropy`` worker on constructed extremes and real files."""

from __future__ import annotations

import gzip
import math
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import List

import pytest

from stoq.testing import WorkerConformance, make_stoq
from stoq_plugin_entropy import plugin
from stoq_plugin_entropy.plugin import (
    NUMPY_FROM,
    PAIRS_FROM,
    EntropyPlugin,
    _counts_numpy,
    _counts_python,
    shannon_entropy,
)

SYSTEM_BINARY = Path(shutil.which("ls") or "/bin/ls").resolve()


def reference_entropy(content: bytes) -> float:
    """The textbook formula, counting each byte value with ``bytes.count``."""
    size = len(content)
    shares = [content.count(bytes([value])) / size for value in range(256)]
    return -sum(share * math.log2(share) for share in shares if share)


def entropy_of(content: bytes) -> float:
    """Scan ``content`` with only the entropy worker and return its result."""
    with make_stoq(always_dispatch=["entropy"]) as stoq:
        response = stoq.scan(content)
    assert response.errors == []
    return response.results[0].workers[0]["entropy"]["entropy"]


def test_every_byte_value_once_is_exactly_eight_bits() -> None:
    """A uniform distribution over 256 values carries 8 bits per byte."""
    assert entropy_of(bytes(range(256)) * 4) == 8.0


def test_one_repeated_byte_is_zero() -> None:
    """Content with a single value carries no information."""
    assert entropy_of(b"A" * 10000) == 0.0


def test_two_equally_common_values_are_one_bit() -> None:
    """Two values, half each, carry exactly one bit per byte."""
    assert entropy_of(b"01" * 5000) == 1.0


def test_empty_payload_is_zero() -> None:
    """An empty payload has no distribution; the worker says 0.0 rather than failing."""
    assert entropy_of(b"") == 0.0


@pytest.mark.parametrize("name", ["system binary", "gzip of it", "random"])
def test_real_content_matches_the_textbook_formula(name: str) -> None:
    """On real data the worker agrees with a per-value ``bytes.count`` computation."""
    binary = SYSTEM_BINARY.read_bytes()
    content = {
        "system binary": binary,
        "gzip of it": gzip.compress(binary),
        "random": os.urandom(1 << 20),
    }[name]
    assert entropy_of(content) == pytest.approx(reference_entropy(content), abs=1e-9)


@pytest.mark.parametrize(
    "name", ["one byte", "odd length binary", "gzip of it", "random, odd", "random, small", "text"]
)
def test_numpy_and_python_counts_agree_exactly(name: str) -> None:
    """Both ways of counting give the same counts, so the entropy is the same float."""
    binary = SYSTEM_BINARY.read_bytes()
    content = {
        "one byte": b"\xff",
        "odd length binary": binary[: len(binary) // 2 * 2 - 1],
        "gzip of it": gzip.compress(binary),
        "random, odd": os.urandom(PAIRS_FROM + 3),
        "random, small": os.urandom(1000),
        "text": Path(__file__).read_bytes(),
    }[name]
    assert _counts_numpy(content) == _counts_python(content)
    assert sum(count for _value, count in _counts_numpy(content)) == len(content)


def test_small_payloads_do_not_import_numpy() -> None:
    """Below NUMPY_FROM bytes, a fresh process scans without paying numpy's import."""
    program = (
        "import sys; from stoq_plugin_entropy.plugin import shannon_entropy as e;"
        f"e(bytes(range(256)) * {NUMPY_FROM // 512}); print('numpy' in sys.modules);"
        f"e(bytes({NUMPY_FROM})); print('numpy' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert completed.stdout.split() == ["False", "True"]


def test_preload_imports_numpy_without_starting_threads() -> None:
    """Before consumers fork, numpy is imported and the process keeps its single thread."""
    program = (
        "import os, sys; from stoq_plugin_entropy.plugin import EntropyPlugin;"
        "EntropyPlugin.preload(); print('numpy' in sys.modules, len(os.listdir('/proc/self/task')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, env=env
    )
    assert completed.stdout.split() == ["True", "1"]


def test_compressed_data_is_denser_than_the_executable() -> None:
    """Compression raises entropy: gzip output is closer to 8 than the ELF it came from."""
    binary = SYSTEM_BINARY.read_bytes()
    packed = shannon_entropy(gzip.compress(binary, 9))
    assert shannon_entropy(binary) < packed <= 8.0
    assert packed > 7.5


def test_plugin_class_is_the_entry_point() -> None:
    """The installed entry point ``entropy`` loads this class."""
    with make_stoq() as stoq:
        assert isinstance(stoq.load_plugin("entropy"), EntropyPlugin)


class TestEntropyConformance(WorkerConformance):
    plugin_name = "entropy"
    samples = (SYSTEM_BINARY,)


def loop_entropy(content: bytes) -> float:
    """The plugin's former loop: each value's term subtracted in value order, in Python."""
    total = 0.0
    for _value, count in sorted(Counter(content).items()):
        share = count / len(content)
        total -= share * math.log2(share)
    return total


def _entropy_corpus() -> List[bytes]:
    """System executables and texts, their prefixes and odd lengths, and made extremes."""
    files = (
        sorted(Path("/usr/bin").iterdir())[:40:4] + sorted(Path("/usr/share/doc").glob("*/*"))[:20]
    )
    real = [path.read_bytes()[:30_000] for path in files if path.is_file()]
    corpus = real + [data[:size] for data in real[:6] for size in (1, 2, 255, 1023, 4097)]
    rng = random.Random(15)
    corpus += [rng.randbytes(size) for size in (1, 3, 256, 2048, 65537, PAIRS_FROM + 3)]
    corpus += [bytes(range(256)) * 3 + b"\x00", b"ab" * 4096, bytes([7]) * 999]
    return corpus


@pytest.mark.parametrize("path", ["python", "numpy"])
def test_entropy_is_the_same_float_as_the_former_loop(path: str, monkeypatch) -> None:
    """Term by term or by distinct count, the entropy is exactly the former loop's float,
    counted either way (numpy forced with NUMPY_FROM 0, or hidden for the Counter path)."""
    if path == "python":
        monkeypatch.delitem(sys.modules, "numpy", raising=False)
    monkeypatch.setattr(plugin, "NUMPY_FROM", 1 << 62 if path == "python" else 0)
    corpus = _entropy_corpus()
    values = [len(set(content)) for content in corpus]
    assert min(values) < plugin.DISTINCT_FROM <= max(values)  # both ways of summing are seen
    for content in corpus:
        assert shannon_entropy(content) == loop_entropy(content), len(content)
