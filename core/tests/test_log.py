"""configure_logging: the application's one call; tracebacks on the terminal only at debug."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = (
    "import stoq; stoq.configure_logging({level!r}); "
    "print(stoq.Stoq(always_dispatch=['raise_worker']).scan(b'x').errors[0].error)"
)


@pytest.mark.parametrize(("level", "traceback_shown"), [("INFO", False), ("DEBUG", True)])
def test_terminal_tracebacks_only_at_debug(level: str, traceback_shown: bool) -> None:
    """The failure is logged either way; its traceback reaches the terminal only at DEBUG."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(level=level)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "RuntimeError: raise_worker always fails second line"
    assert "plugin 'raise_worker' failed at stage scan" in result.stderr
    assert ("Traceback" in result.stderr) is traceback_shown
