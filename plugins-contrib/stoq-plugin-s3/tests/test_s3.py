"""The stoq conformance suite for the ``s3`` plugin, on a real S3-compatible server."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Iterator

import pytest
from conftest import bucket_for

from stoq.testing import ArchiverConformance, ConnectorConformance


@pytest.fixture(scope="module", autouse=True)
def _bucket(s3_endpoint: str) -> Iterator[None]:
    """One bucket for the suite: it keeps one plugin instance across its tests."""
    with bucket_for(s3_endpoint) as opts:
        TestS3PluginConformance.plugin_opts = opts
        yield


class TestS3PluginConformance(ArchiverConformance, ConnectorConformance):
    """What every stoq plugin must do, checked on edge cases and on the samples below."""

    plugin_name = "s3"
    samples = ("data/sample.txt",)
    plugin_opts: ClassVar[Dict[str, Any]] = {}
