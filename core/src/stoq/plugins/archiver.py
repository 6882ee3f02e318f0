"""Archivers store payloads (destination) and fetch them back for run mode (source)."""

from __future__ import annotations

from stoq.data_classes import ArchiverResponse, Payload, RequestMeta
from stoq.plugins.base import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

__all__ = ["ArchiverPlugin"]


class ArchiverPlugin(BasePlugin):
    """Implement ``archive`` to store, ``get`` to turn a provider's task into a Payload."""

    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        raise NotImplementedError(f"{type(self).__name__} is not a destination archiver")

    def get(self, task: Any) -> Optional[Payload]:
        raise NotImplementedError(f"{type(self).__name__} is not a source archiver")
