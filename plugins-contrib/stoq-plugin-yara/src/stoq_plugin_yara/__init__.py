"""stoQ plugin ``yara``: YARA matches as worker results, and rules that dispatch workers."""

from .plugin import YaraPlugin

__all__ = ["YaraPlugin"]
