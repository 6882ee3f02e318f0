"""stoQ plugin ``mimetype``: what kind of file each payload is."""

from .plugin import MimetypePlugin

__all__ = ["MimetypePlugin"]
