"""A real PostgreSQL (``STOQ_TEST_POSTGRES_DSN``, default the local ``test`` database) and a
fresh schema per test, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from typing import Any, Dict, Iterator

import psycopg
import pytest

DSN = os.environ.get("STOQ_TEST_POSTGRES_DSN", "host=127.0.0.1 dbname=test user=postgres")


@pytest.fixture
def db() -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(DSN, autocommit=True) as conn:  # no server: fail loudly, never skip
        yield conn


@pytest.fixture
def opts(db: psycopg.Connection[Any]) -> Iterator[Dict[str, Any]]:
    """Plugin options naming this test's own schema."""
    schema = f"stoq_test_{uuid.uuid4().hex[:12]}"
    yield {"dsn": DSN, "schema": schema}
    db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
