"""stoQ plugin ``filedir``: local folders as a source of files, a payload store and a results sink."""

from .plugin import FiledirPlugin

__all__ = ["FiledirPlugin"]
