"""The plugin's core requirement, checked without packaging in the plain case, as packaging would."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from stoq.sources import plain_specifier_contains

PLAIN = [
    ">=4.0.0",
    ">=4",
    ">4",
    ">4.0.0",
    "<5",
    "<4.0.0",
    "<=4",
    "==4",
    "==4.0.0",
    "!=4.0",
    ">=3.0.1,<5",
    ">=4.0.1",
    " >= 4.0 , < 4.1 ",
    "==4.0.0.0",
    ">=99",
    "",
]


@pytest.mark.parametrize("specifier", PLAIN)
@pytest.mark.parametrize("version", ["4.0.0", "4.0", "4.1.2", "3.9"])
def test_plain_specifiers_agree_with_packaging(specifier: str, version: str) -> None:
    """Every plain comparison gives packaging's answer."""
    expected = SpecifierSet(specifier.replace(" ", "")).contains(version, prereleases=True)
    assert plain_specifier_contains(specifier, version) is expected


@pytest.mark.parametrize(
    ("specifier", "version"),
    [
        ("~=4.0", "4.0.0"),
        ("==4.*", "4.0.0"),
        (">=4.0.0rc1", "4.0.0"),
        (">=4", "4.0.0rc1"),
        ("[server]>=4", "4.0.0"),
        (">=4; python_version < '3.10'", "4.0.0"),
        ("(>=4)", "4.0.0"),
    ],
)
def test_anything_else_is_left_to_packaging(specifier: str, version: str) -> None:
    """Wildcards, compatible releases, pre-releases, extras and markers are not guessed."""
    assert plain_specifier_contains(specifier, version) is None
