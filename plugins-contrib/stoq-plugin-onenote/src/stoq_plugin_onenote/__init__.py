"""stoQ plugin ``onenote``: OneNote documents: embedded files extracted."""

from .plugin import OnenotePlugin

__all__ = ["OnenotePlugin"]
