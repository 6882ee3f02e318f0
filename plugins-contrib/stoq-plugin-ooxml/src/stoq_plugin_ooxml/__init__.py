"""stoQ plugin ``ooxml``: Office Open XML documents: external relationships (remote templates), DDE fields, custom XML, macros, embedded objects."""

from .plugin import OoxmlPlugin

__all__ = ["OoxmlPlugin"]
