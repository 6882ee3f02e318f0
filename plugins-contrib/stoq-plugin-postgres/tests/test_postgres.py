"""The stoq conformance suite for the ``postgres`` connector, on a real PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Dict, Iterator

import psycopg
import pytest
from conftest import DSN

from stoq.testing import ConnectorConformance

SCHEMA = f"stoq_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module", autouse=True)
def _drop_schema() -> Iterator[None]:
    yield
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


class TestPostgresPluginConformance(ConnectorConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "postgres"
    samples = ("data/sample.txt",)
    plugin_opts: ClassVar[Dict[str, Any]] = {"dsn": DSN, "schema": SCHEMA}
