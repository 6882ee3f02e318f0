"""Shared inputs for the end-to-end tests: real files the system ships."""

from __future__ import annotations

import pytest

import stoq.testing


@pytest.fixture(scope="session")
def windows_pe() -> bytes:
    """A real Windows PE file that every Python installation carries somewhere."""
    try:
        content = stoq.testing.windows_pe()
    except LookupError as exc:  # pragma: no cover - every CPython install ships one
        pytest.fail(str(exc))
    return content
