"""Shared fixtures for the core's tests: an isolated STOQ_HOME and a Stoq builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List

import pytest

from stoq import Stoq


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """No user configuration leaks into a test."""
    home = tmp_path_factory.mktemp("stoq-home")
    monkeypatch.setenv("STOQ_HOME", str(home))
    return home


@pytest.fixture
def build() -> Iterator[Any]:
    """Build Stoq instances that are closed after the test."""
    made: List[Stoq] = []

    def _build(**kwargs: Any) -> Stoq:
        stoq = Stoq(**kwargs)
        made.append(stoq)
        return stoq

    yield _build
    for stoq in made:
        stoq.close()
