"""Providers feed run mode: they put payloads, or archiver tasks, on a queue."""

from __future__ import annotations

from queue import Queue
from typing import Any

from stoq.plugins.base import BasePlugin

__all__ = ["ProviderPlugin"]


class ProviderPlugin(BasePlugin):
    """Implement ``ingest``; put ``Payload`` objects or ``{archiver_name: task}`` dicts."""

    def ingest(self, queue: Queue[Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement ingest()")
