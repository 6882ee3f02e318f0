"""Fixtures for the yara tests: real files from the system or generated with real libraries."""

from __future__ import annotations

from typing import Dict

import pytest
import yara_samples


@pytest.fixture(scope="session")
def windows_pe() -> bytes:
    """A Windows launcher executable shipped with pip or setuptools."""
    return yara_samples.windows_pe()


@pytest.fixture(scope="session")
def elf_binary() -> bytes:
    """/bin/ls."""
    return yara_samples.elf_binary()


@pytest.fixture(scope="session")
def format_samples() -> Dict[str, bytes]:
    """One sample per format the dispatch rules recognise, keyed by the rule's type."""
    return yara_samples.format_samples()


@pytest.fixture(autouse=True)
def _own_cache_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled rules kept between processes go to a folder of this test run, not ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
