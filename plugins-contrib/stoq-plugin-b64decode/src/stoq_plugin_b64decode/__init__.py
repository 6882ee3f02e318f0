"""stoQ plugin ``b64decode``: Base64 runs decoded and extracted, bounded in count and size."""

from .plugin import B64decodePlugin

__all__ = ["B64decodePlugin"]
