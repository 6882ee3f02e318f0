"""stoQ plugin ``filedir``: Local folders as a file source, a SHA-256 payload store and a JSON results sink."""

from .plugin import FiledirPlugin

__all__ = ["FiledirPlugin"]
