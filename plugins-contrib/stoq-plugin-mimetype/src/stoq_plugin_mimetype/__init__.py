"""stoQ plugin ``mimetype``: MIME type and description of each payload via libmagic, with a pure-Python fallback."""

from .plugin import MimetypePlugin

__all__ = ["MimetypePlugin"]
