"""``Acknowledger``: what a ``Delivery``'s provider must be (``ack`` and ``nack``).

A ``typing.Protocol``, so a provider need not subclass it; in a module of its own, imported
when first asked for (``stoq.plugins.Acknowledger``), so a scan that never asks does not
import ``typing`` (~5 % of a small ``stoq scan``).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Acknowledger"]


@runtime_checkable
class Acknowledger(Protocol):
    """Told what became of each ``Delivery`` it issued; called from run mode's main thread.

    Each delivery gets exactly one call, unless the process dies first (then none: the
    queue's own redelivery takes over). A client that is not thread-safe hands the call to
    its own thread.
    """

    def ack(self, tag: Any) -> None:
        """The response for ``tag`` was saved by every connector: drop the message."""

    def nack(self, tag: Any, reason: str) -> None:
        """``tag`` was not saved (``reason`` says why): let the queue deliver it again."""
