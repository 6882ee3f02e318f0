"""Hostile variants of a real sample, and the check that a plugin survives every one of them.

A parser's input is chosen by an adversary, so each parsing plugin's tests run it on damaged
copies of a real file of its format: truncated at many offsets, bit-flipped, zero-filled
regions, length fields that lie, chunks duplicated or nested in themselves. The variants are
derived from the sample and a seed only, so a failure names a variant that can be regenerated.

``check_hostile_corpus`` scans every variant through the engine in a child process under an
address-space cap. A variant passes when its response is valid strict JSON, the plugin finished
within its budget and did not run out of memory (the engine's ``timeout`` error, and its
``limit`` error for a ``MemoryError``, count as failures: the plugin hung or grew without
bound), and the child neither crashed nor hung. Any other ``Error`` is an acceptable answer to a broken file.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

__all__ = ["check_hostile_corpus", "hostile_variants"]

#: Values written over what might be a length, count or offset field.
LYING_VALUES = (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFF, 0x7FFF)
#: Largest variant produced by duplicating chunks; bigger inputs test the size limit, not the parser.
MAX_GROWN = 4 * 1024 * 1024


def _truncations(sample: bytes) -> List[Tuple[str, bytes]]:
    size = len(sample)
    offsets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, size - 1, size - 2}
    offsets.update(size * k // 8 for k in range(1, 8))
    return [(f"truncated@{n}", sample[:n]) for n in sorted(offsets) if 0 < n < size]


def _bit_flips(sample: bytes, rng: random.Random, count: int) -> List[Tuple[str, bytes]]:
    variants = []
    for index in range(count):
        data = bytearray(sample)
        # Half the variants hit the first 512 bytes, where headers and their lengths live.
        span = min(len(data), 512) if index % 2 == 0 else len(data)
        flips = rng.randint(1, 16)
        for _ in range(flips):
            position = rng.randrange(span)
            data[position] ^= 1 << rng.randrange(8)
        variants.append((f"bitflip#{index}x{flips}", bytes(data)))
    return variants


def _zero_fills(sample: bytes, rng: random.Random, count: int) -> List[Tuple[str, bytes]]:
    variants = []
    for _ in range(count):
        length = min(len(sample), rng.choice((4, 16, 64, 512, 4096)))
        start = rng.randrange(len(sample) - length + 1)
        data = sample[:start] + bytes(length) + sample[start + length :]
        variants.append((f"zeros@{start}+{length}", data))
    return variants


def _lying_lengths(sample: bytes, rng: random.Random, count: int) -> List[Tuple[str, bytes]]:
    variants = []
    for index in range(count):
        width = 2 if index % 4 in (0, 1) else 4
        order = "<" if index % 2 == 0 else ">"
        if len(sample) < width:
            break
        # Headers first: most variants write within the first 256 bytes, aligned to the width.
        span = min(len(sample), 256) if index % 3 != 2 else len(sample)
        offset = rng.randrange(max(1, (span - width) // width + 1)) * width
        value = rng.choice(LYING_VALUES) & (0xFFFF if width == 2 else 0xFFFFFFFF)
        field = struct.pack(order + ("H" if width == 2 else "I"), value)
        data = sample[:offset] + field + sample[offset + width :]
        endian = "le" if order == "<" else "be"
        variants.append((f"length-{endian}{width * 8}@{offset}={value:#x}", data))
    return variants


def _duplications(sample: bytes, rng: random.Random, count: int) -> List[Tuple[str, bytes]]:
    variants = [("doubled", (sample + sample)[:MAX_GROWN])]
    for index in range(count):
        length = min(len(sample), rng.choice((8, 64, 512, 4096)))
        start = rng.randrange(len(sample) - length + 1)
        chunk = sample[start : start + length]
        if index % 2 == 0:
            times = max(2, min(256, MAX_GROWN // max(1, length)))
            data = sample[:start] + chunk * times + sample[start + length :]
            variants.append((f"repeated@{start}+{length}x{times}", data[:MAX_GROWN]))
        else:
            # The chunk nested inside itself, a few levels deep: head + (head + ... + tail) + tail.
            half = length // 2
            nested = chunk
            for _ in range(8):
                nested = chunk[:half] + nested + chunk[half:]
            data = sample[:start] + nested + sample[start + length :]
            variants.append((f"nested@{start}+{length}", data[:MAX_GROWN]))
    return variants


def hostile_variants(sample: bytes, *, seed: int = 0, per_kind: int = 6) -> List[Tuple[str, bytes]]:
    """Named hostile copies of ``sample``; the same sample and seed give the same list.

    Kinds: truncations (about 19 offsets), then ``per_kind`` each of bit flips, zero-filled
    regions, lying 2/4-byte little/big-endian integers (huge values, mostly in the header) and
    duplicated or self-nested chunks (plus the whole sample twice).
    """
    if not sample:
        return []
    rng = random.Random(f"{seed}:{zlib.crc32(sample)}:{len(sample)}")
    return (
        _truncations(sample)
        + _bit_flips(sample, rng, per_kind)
        + _zero_fills(sample, rng, per_kind)
        + _lying_lengths(sample, rng, per_kind)
        + _duplications(sample, rng, per_kind)
    )


def check_hostile_corpus(
    plugin: str,
    samples: Iterable[bytes],
    *,
    extra: Optional[Mapping[str, bytes]] = None,
    plugin_opts: Optional[Mapping[str, Any]] = None,
    seed: int = 0,
    per_kind: int = 6,
    budget: float = 10.0,
    memory_limit: int = 2 * 1024**3,
) -> Dict[str, Dict[str, Any]]:
    """Scan every hostile variant of ``samples`` (and ``extra``, named inputs the test built)
    with ``plugin`` as the start dispatch; raise ``AssertionError`` listing every failure.

    The scans run in one child process whose address space is capped at ``memory_limit``;
    ``budget`` seconds is the plugin's ``timeout`` for each item. Returns, per item name, the
    seconds it took and the errors its response held, for tests that assert more.
    """
    inputs: Dict[str, bytes] = {}
    for number, sample in enumerate(samples):
        for name, data in hostile_variants(sample, seed=seed, per_kind=per_kind):
            inputs[f"sample{number}:{name}"] = data
    inputs.update(extra or {})
    if not inputs:
        raise AssertionError(f"check_hostile_corpus({plugin!r}): no samples and no extra inputs")
    with tempfile.TemporaryDirectory(prefix="stoq-hostile-") as folder:
        base = Path(folder)
        names: List[str] = []
        for index, (name, data) in enumerate(inputs.items()):
            (base / f"{index}.bin").write_bytes(data)
            names.append(name)
        spec = {
            "plugin": plugin,
            "plugin_opts": {**dict(plugin_opts or {}), "timeout": budget},
            "folder": folder,
            "count": len(names),
            "memory_limit": memory_limit,
        }
        (base / "spec.json").write_text(json.dumps(spec))
        report = base / "report.jsonl"
        overall = len(names) * budget * 2 + 120
        try:
            process = subprocess.run(
                [sys.executable, "-m", "stoq.testing._hostile_child", str(base / "spec.json")],
                capture_output=True,
                timeout=overall,
                env={**os.environ, "STOQ_HOME": str(base / "home")},
                check=False,
            )
            failure = "" if process.returncode == 0 else f"exit status {process.returncode}"
            stderr = process.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            failure, stderr = f"no answer within {overall:g}s", ""
        lines = report.read_text().splitlines() if report.exists() else []
    return _judge(plugin, names, lines, failure, stderr, budget)


def _judge(
    plugin: str,
    names: Sequence[str],
    lines: Sequence[str],
    failure: str,
    stderr: str,
    budget: float,
) -> Dict[str, Dict[str, Any]]:
    """Per-item outcomes from the child's report; AssertionError naming each failing item."""
    outcomes: Dict[str, Dict[str, Any]] = {}
    problems: List[str] = []
    started: Optional[str] = None
    for line in lines:
        entry = json.loads(line)
        name = names[entry["index"]]
        if "started" in entry:
            started = name
            continue
        started = None
        outcomes[name] = entry
        if entry.get("problem"):
            problems.append(f"{name}: {entry['problem']}")
        elif entry["seconds"] > budget * 1.5:
            problems.append(f"{name}: took {entry['seconds']:.1f}s, budget {budget:g}s")
    if failure:
        where = f" while scanning {started}" if started else ""
        tail = " | ".join(stderr.strip().splitlines()[-5:])
        problems.append(f"child process: {failure}{where}: {tail}")
    elif len(outcomes) != len(names):
        problems.append(f"child process reported {len(outcomes)} of {len(names)} items")
    if problems:
        raise AssertionError(
            f"{plugin}: {len(problems)} hostile input(s) failed:\n  " + "\n  ".join(problems)
        )
    return outcomes
