"""stoQ plugin ``javascript``: JavaScript beautified, string escapes decoded, suspicious calls reported."""

from .plugin import JavascriptPlugin

__all__ = ["JavascriptPlugin"]
