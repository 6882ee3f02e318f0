"""stoQ plugin ``stdout``: print each response."""

from .plugin import StdoutPlugin

__all__ = ["StdoutPlugin"]
