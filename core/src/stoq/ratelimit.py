"""v2's ``Stoq.scan(..., ratelimit="COUNT/SECONDS")``: calls spaced so at most COUNT run per
SECONDS, for programs that feed stoQ from a rate-limited source (an API quota, a mail relay)."""

from __future__ import annotations

import threading
import time

from stoq.exceptions import StoqConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["RateLimiter", "interval_of"]


def interval_of(limit: str) -> float:
    """Seconds between two calls for ``"COUNT/SECONDS"`` (``"10/60"``: one every 6 s)."""
    try:
        count, seconds = (int(part) for part in limit.split("/"))
        if count <= 0 or seconds < 0:
            raise ValueError
    except ValueError:
        raise StoqConfigError(
            f"ratelimit {limit!r}: expected COUNT/SECONDS with whole numbers, e.g. '10/60'"
        ) from None
    return seconds / count


class RateLimiter:
    """Spaces calls evenly across threads: each waits until ``interval`` after the previous."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: Optional[float] = None

    def wait(self, limit: str) -> None:
        """Block until a call under ``limit`` may start; the first call never waits."""
        interval = interval_of(limit)
        with self._lock:
            now = time.monotonic()
            if self._last is not None and self._last + interval > now:
                time.sleep(self._last + interval - now)
                now = time.monotonic()
            self._last = now
