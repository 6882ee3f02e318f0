"""Deep dispatchers read the workers' results and ask for more workers (0 to N passes)."""

from __future__ import annotations

from stoq.data_classes import DeepDispatcherResponse, Payload, RequestMeta
from stoq.plugins.base import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["DeepDispatcherPlugin"]


class DeepDispatcherPlugin(BasePlugin):
    """Implement ``get_deep_dispatches``; the payload carries every worker result so far."""

    def get_deep_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DeepDispatcherResponse]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_deep_dispatches()")
