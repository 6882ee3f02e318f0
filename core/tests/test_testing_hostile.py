"""``stoq.testing``'s hostile corpus: the variants it derives and the failures its check catches."""

from __future__ import annotations

import struct

import pytest

from stoq.testing import check_hostile_corpus, hostile_variants

SAMPLE = b"HDR\x00" + struct.pack("<I", 64) + bytes(range(256)) * 8


def test_variants_are_deterministic_and_seeded() -> None:
    first = hostile_variants(SAMPLE, seed=1)
    assert first == hostile_variants(SAMPLE, seed=1)
    assert first != hostile_variants(SAMPLE, seed=2)
    assert len({name for name, _ in first}) == len(first)
    assert hostile_variants(b"") == []


def test_every_kind_of_damage_is_present() -> None:
    variants = dict(hostile_variants(SAMPLE, per_kind=8))
    kinds = {name.split("@")[0].split("#")[0] for name in variants}
    assert {"truncated", "bitflip", "zeros", "doubled", "repeated", "nested"} <= kinds
    assert {"length-le16", "length-be16", "length-le32", "length-be32"} <= kinds
    for name, data in variants.items():
        assert data != SAMPLE, name
        if name.startswith("truncated@"):
            assert data == SAMPLE[: int(name.split("@")[1])]
        if name.startswith("zeros@"):
            start, length = map(int, name.split("@")[1].split("+"))
            assert data[start : start + length] == bytes(length)
            assert len(data) == len(SAMPLE)
        if name.startswith("length-"):
            spec, value = name.split("@")[1].split("=")
            width = 2 if "16@" in name else 4
            order = "<" if name.startswith("length-le") else ">"
            written = struct.unpack(
                order + ("H" if width == 2 else "I"), data[int(spec) : int(spec) + width]
            )
            assert written[0] == int(value, 16)
        if name == "doubled":
            assert data == SAMPLE + SAMPLE


def test_a_plugin_that_survives_passes_and_errors_are_acceptable() -> None:
    outcomes = check_hostile_corpus("simple_worker", [SAMPLE], per_kind=2)
    assert len(outcomes) == len(hostile_variants(SAMPLE, per_kind=2))
    assert all(o["errors"] == [] for o in outcomes.values())
    raised = check_hostile_corpus("raise_worker", [], extra={"any": b"x"})
    assert "raise_worker always fails" in raised["any"]["errors"][0]["error"]


def test_a_crash_is_a_failure_naming_the_input() -> None:
    with pytest.raises(AssertionError, match=r"exit status -9 while scanning boom"):
        check_hostile_corpus("crash_worker", [], extra={"fine": b"ok", "boom": b"crash!"})


def test_unbounded_memory_is_a_failure() -> None:
    with pytest.raises(AssertionError, match=r"hog: limit"):
        check_hostile_corpus("hog_worker", [], extra={"hog": b"hog"}, memory_limit=1024**3)


def test_a_hang_past_the_budget_is_a_failure() -> None:
    with pytest.raises(AssertionError, match=r"slow: timeout"):
        check_hostile_corpus(
            "sleep_worker", [], extra={"slow": b"z"}, plugin_opts={"seconds": 5}, budget=0.5
        )
