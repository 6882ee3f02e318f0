"""Standard output belongs to the response stream (SPEC §5.7).

An application that prints responses (the ``stoq`` command) calls ``protect()`` once: it gets
the real stream for its responses, and ``sys.stdout`` becomes standard error for everything
else, so a plugin's ``print()`` can never corrupt the JSON. The one exception is a connector
whose job is writing responses there (``writes_stdout = True``): during its calls the engine
hands it the real stream. Output written to file descriptor 1 by native code is not covered.
"""

from __future__ import annotations

import contextlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ContextManager, Optional, TextIO

__all__ = ["plugin_output", "protect", "protected"]

_real: Optional[TextIO] = None
_NOTHING: ContextManager[Any] = contextlib.nullcontext()


def protect() -> TextIO:
    """Reserve standard output for responses; returns the stream to write them to."""
    global _real
    if _real is None:
        _real = sys.stdout
        sys.stdout = sys.stderr
    return _real


def protected() -> bool:
    """Whether ``protect()`` was called in this process."""
    return _real is not None


class _RealStdout:
    """During a call: the real standard output is ``sys.stdout`` again."""

    def __enter__(self) -> None:
        self._saved = sys.stdout
        sys.stdout = _real

    def __exit__(self, *exc_info: Any) -> None:
        sys.stdout = self._saved


def plugin_output(writes_stdout: bool) -> ContextManager[Any]:
    """Where a plugin call's ``print()`` goes: stderr, unless it is a stdout connector."""
    if writes_stdout and _real is not None:
        return _RealStdout()
    return _NOTHING
