"""stoQ plugin ``pe``: Windows PE structure, imports, resources, overlay and Authenticode."""

from .plugin import PePlugin

__all__ = ["PePlugin"]
