"""stoQ plugin ``iso``: Members of ISO 9660, Joliet, Rock Ridge and UDF images extracted."""

from .plugin import IsoPlugin

__all__ = ["IsoPlugin"]
