"""Workers analyse a payload and may extract child payloads."""

from __future__ import annotations

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins.base import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["WorkerPlugin"]


class WorkerPlugin(BasePlugin):
    """Implement ``scan``; return a WorkerResponse (or None when there is nothing to say)."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        raise NotImplementedError(f"{type(self).__name__} must implement scan()")
