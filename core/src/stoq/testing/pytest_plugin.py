"""The ``stoq`` pytest plugin (registered under ``pytest11``): fixtures for plugin tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from stoq.core import Stoq
from stoq.testing._build import make_stoq

__all__ = ["data_dir", "stoq_factory"]


@pytest.fixture
def stoq_factory() -> Iterator[Callable[..., Stoq]]:
    """``make_stoq`` whose instances are closed (plugins stopped) after the test."""
    made: List[Stoq] = []

    def factory(*args: Any, **kwargs: Any) -> Stoq:
        stoq = make_stoq(*args, **kwargs)
        made.append(stoq)
        return stoq

    yield factory
    for stoq in made:
        stoq.close()


@pytest.fixture
def data_dir(request: pytest.FixtureRequest) -> Path:
    """The ``data/`` folder beside the test module (sample inputs live there)."""
    return Path(request.path).parent / "data"
