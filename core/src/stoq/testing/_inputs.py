"""The inputs every conformance run feeds a plugin: edge cases plus the test's own samples."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, List, Sequence

from stoq.data_classes import PayloadMeta

__all__ = ["ConformanceInput", "conformance_inputs"]

MIB = 1024 * 1024
RANDOM_SIZE = 64 * 1024


@lru_cache(maxsize=4)
def _random_bytes(size: int) -> bytes:
    """Seeded, so a failure on "random" input reproduces on the next run."""
    return random.Random(size).randbytes(size)


@dataclass(frozen=True)
class ConformanceInput:
    """One input: a label for test ids and messages, and how to get its bytes."""

    label: str
    load: Callable[[], bytes]
    filename: str = ""

    def payload_meta(self) -> PayloadMeta:
        return PayloadMeta(extra_data={"filename": self.filename} if self.filename else {})

    def describe(self, content: bytes) -> str:
        size = len(content)
        return f"input {self.label!r} ({size} byte{'' if size == 1 else 's'})"


def _sample(index: int, sample: Any, base: Path) -> ConformanceInput:
    if isinstance(sample, (bytes, bytearray)):
        data = bytes(sample)
        return ConformanceInput(f"sample-{index}", lambda: data)
    if isinstance(sample, (str, os.PathLike)):
        path = Path(sample)
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise FileNotFoundError(f"conformance sample {sample!s} not found (looked at {path})")
        return ConformanceInput(f"sample-{path.name}", path.read_bytes, path.name)
    raise TypeError(f"conformance sample {sample!r}: expected bytes or a file path")


def conformance_inputs(
    samples: Sequence[Any], base: Path, large_size: int = 8 * MIB
) -> List[ConformanceInput]:
    """Empty, one byte, random, large (``large_size`` bytes), then each sample.

    Sample paths may be relative to ``base`` (the test module's folder).
    """
    edges = [
        ConformanceInput("empty", lambda: b""),
        ConformanceInput("one-byte", lambda: b"\x00"),
        ConformanceInput("random-64KiB", lambda: _random_bytes(RANDOM_SIZE)),
        ConformanceInput(
            f"large-{large_size // MIB}MiB" if large_size % MIB == 0 else f"large-{large_size}B",
            lambda: _random_bytes(large_size),
        ),
    ]
    return edges + [_sample(i, s, base) for i, s in enumerate(samples)]
