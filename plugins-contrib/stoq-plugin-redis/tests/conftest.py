"""A real Redis (``STOQ_TEST_REDIS_URL``, default the local server) with a fresh key prefix per
test, deleted afterwards."""

from __future__ import annotations

import os
import uuid
from typing import Any, Dict, Iterator

import pytest
import redis

URL = os.environ.get("STOQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def clean(client: redis.Redis, prefix: str) -> None:
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(URL)
    connection.ping()  # no server: fail loudly, never skip
    yield connection
    connection.close()


@pytest.fixture
def opts(client: redis.Redis) -> Iterator[Dict[str, Any]]:
    """Plugin options naming this test's own stream, group and key prefixes."""
    prefix = f"stoq-test:{uuid.uuid4().hex[:12]}:"
    yield {
        "url": URL,
        "stream": f"{prefix}work",
        "group": "scanners",
        "payload_prefix": f"{prefix}payload:",
        "results_key_prefix": f"{prefix}result:",
        "results_stream": f"{prefix}results",
        "read_block": 0.1,
        "claim_every": 0.1,
        "stop_when_idle": 0.5,
    }
    clean(client, prefix)
