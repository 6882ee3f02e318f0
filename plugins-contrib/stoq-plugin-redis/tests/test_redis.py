"""The stoq conformance suite for the ``redis`` plugin's three roles, on a real Redis."""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar, Dict, Iterator

import pytest
import redis
from conftest import URL, clean

from stoq.testing import ArchiverConformance, ConnectorConformance, ProviderConformance
from stoq_plugin_redis.submit import Submitter

PREFIX = f"stoq-test:{uuid.uuid4().hex[:12]}:"
OPTS = {
    "url": URL,
    "stream": f"{PREFIX}work",
    "payload_prefix": f"{PREFIX}payload:",
    "results_key_prefix": f"{PREFIX}result:",
    "read_block": 0.1,
}


@pytest.fixture(scope="module", autouse=True)
def work_on_the_stream() -> Iterator[None]:
    """Two entries for the provider to deliver: one inline, one by reference."""
    submitter = Submitter({**OPTS, "inline_max": 8, "archiver": "redis", "archiver_opts": OPTS})
    submitter.submit(b"small", {"filename": "small.txt"})
    submitter.submit(b"larger than eight bytes", {"filename": "large.txt"})
    yield
    time.sleep(0.5)  # the suite's Stoq is closed by now: let its provider's last read end
    clean(redis.Redis.from_url(URL), PREFIX)


class TestRedisPluginConformance(ProviderConformance, ArchiverConformance, ConnectorConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "redis"
    samples = ("data/sample.txt",)
    endless = True
    ingest_seconds = 1.0
    plugin_opts: ClassVar[Dict[str, Any]] = OPTS
