"""Connectors save each finished response somewhere."""

from __future__ import annotations

from stoq.data_classes import StoqResponse
from stoq.plugins.base import BasePlugin

__all__ = ["ConnectorPlugin"]


class ConnectorPlugin(BasePlugin):
    """Implement ``save``; raise on failure so the engine can count and log it."""

    def save(self, response: StoqResponse) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement save()")
