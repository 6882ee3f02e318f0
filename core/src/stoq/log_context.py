"""What a log line is about: the scan and the plugin call in progress (``--log-format json``
writes both). Apart from ``stoq.log`` so that the formatters can read them without a cycle."""

from __future__ import annotations

from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["current_plugin", "current_scan"]

#: The scan id of the request being run in this thread (``None`` outside a request).
current_scan: ContextVar[Optional[str]] = ContextVar("stoq_scan", default=None)
#: The plugin whose call is running (``None`` between calls).
current_plugin: ContextVar[Optional[str]] = ContextVar("stoq_plugin", default=None)
