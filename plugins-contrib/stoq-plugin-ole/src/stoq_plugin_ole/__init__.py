"""stoQ plugin ``ole``: OLE2 compound files: streams, storages, metadata, CLSIDs; embedded OLE objects and packages extracted."""

from .plugin import OlePlugin

__all__ = ["OlePlugin"]
