"""Connectors save each finished response somewhere."""

from __future__ import annotations

from stoq.data_classes import StoqResponse
from stoq.plugins.base import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar

__all__ = ["ConnectorPlugin"]


class ConnectorPlugin(BasePlugin):
    """Implement ``save``; raise on failure so the engine can count and log it.

    Standard output belongs to the response stream: while plugins run under the ``stoq``
    command, ``sys.stdout`` is standard error. A connector whose job is writing responses to
    standard output sets ``writes_stdout = True``: its ``save`` gets the real stream, and the
    command then leaves printing responses to it (each is printed once).
    """

    writes_stdout: ClassVar[bool] = False

    def save(self, response: StoqResponse) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement save()")
