"""stoQ plugin ``decompress``: archive and compressed-file members as child payloads."""

from .plugin import DecompressPlugin

__all__ = ["DecompressPlugin"]
