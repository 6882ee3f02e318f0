"""Decorators draw request-wide conclusions from the whole response."""

from __future__ import annotations

from stoq.data_classes import DecoratorResponse, StoqResponse
from stoq.plugins.base import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["DecoratorPlugin"]


class DecoratorPlugin(BasePlugin):
    """Implement ``decorate``; its results appear under ``decorators[<name>]``."""

    def decorate(self, response: StoqResponse) -> Optional[DecoratorResponse]:
        raise NotImplementedError(f"{type(self).__name__} must implement decorate()")
