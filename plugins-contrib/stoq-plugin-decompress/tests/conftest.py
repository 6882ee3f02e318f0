"""Fixtures for the decompress tests."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from decompress_harness import ArchiveDispatcher

from stoq import Stoq


@pytest.fixture
def archive_stoq(stoq_factory: Callable[..., Stoq]) -> Callable[..., Stoq]:
    """Build a Stoq whose dispatcher sends each archive, at any depth, to decompress."""

    def build(**kwargs: Any) -> Stoq:
        return stoq_factory(
            plugins={"archives": ArchiveDispatcher}, dispatchers=["archives"], **kwargs
        )

    return build
