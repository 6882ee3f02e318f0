"""stoQ plugin ``stdout``: Writes each response to standard output as JSON."""

from .plugin import StdoutPlugin

__all__ = ["StdoutPlugin"]
