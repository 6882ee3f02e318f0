"""How the decompress tests run the plugin: alone, or in a Stoq that dispatches archives."""

from __future__ import annotations

from typing import Any, Optional

from stoq import DispatcherResponse, Payload, RequestMeta, WorkerResponse
from stoq.plugins import DispatcherPlugin
from stoq.testing import run_plugin
from stoq_plugin_decompress.detect import detect


class ArchiveDispatcher(DispatcherPlugin):
    """Dispatches decompress to anything it recognises (yara's rules do this in production)."""

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        fmt = detect(payload.content)
        return DispatcherResponse(["decompress"], {"format": fmt}) if fmt else None


def decompress(data: bytes, **kwargs: Any) -> WorkerResponse:
    """Run the decompress worker once on ``data`` (its options as ``plugin_opts=``)."""
    response = run_plugin("decompress", "scan", data, **kwargs)
    assert isinstance(response, WorkerResponse)
    return response
