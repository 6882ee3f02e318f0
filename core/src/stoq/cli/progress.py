"""A one-line progress bar for terminals; no dependency, redrawn at most ten times a second."""

from __future__ import annotations

import shutil
import time
from typing import TextIO

__all__ = ["ProgressBar"]

_CLEAR = "\r\x1b[K"


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class ProgressBar:
    """``scanning [#####.....] 12/40 files 30% 00:04 eta 00:09`` on ``stream`` (a terminal)."""

    def __init__(self, total: int, stream: TextIO, label: str = "scanning") -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream
        self.label = label
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self.draw()

    def render(self) -> str:
        elapsed = time.monotonic() - self._started
        fraction = self.done / self.total
        eta = (
            f" eta {_clock(elapsed / self.done * (self.total - self.done))}"
            if 0 < self.done < self.total
            else ""
        )
        tail = f" {self.done}/{self.total} files {int(fraction * 100):3d}% {_clock(elapsed)}{eta}"
        columns = shutil.get_terminal_size((80, 24)).columns
        width = max(10, min(40, columns - len(self.label) - len(tail) - 4))
        filled = int(width * fraction)
        return f"{self.label} [{'#' * filled}{'.' * (width - filled)}]{tail}"

    def draw(self) -> None:
        self._drawn_at = time.monotonic()
        self.stream.write(_CLEAR + self.render())
        self.stream.flush()

    def clear(self) -> None:
        """Erase the bar so other output can use the line (call ``draw`` afterwards)."""
        self.stream.write(_CLEAR)
        self.stream.flush()

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.done >= self.total or time.monotonic() - self._drawn_at >= 0.1:
            self.draw()

    def close(self) -> None:
        """Leave the final state of the bar on its own line."""
        self.draw()
        self.stream.write("\n")
        self.stream.flush()
