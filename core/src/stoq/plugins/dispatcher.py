"""Dispatchers choose the workers for a payload before any worker runs."""

from __future__ import annotations

from stoq.data_classes import DispatcherResponse, Payload, RequestMeta
from stoq.plugins.base import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["DispatcherPlugin"]


class DispatcherPlugin(BasePlugin):
    """Implement ``get_dispatches``; None means "nothing to add"."""

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_dispatches()")
