"""stoQ plugin ``carve``: Files embedded at offsets other than zero, carved out with their offsets."""

from .plugin import CarvePlugin

__all__ = ["CarvePlugin"]
