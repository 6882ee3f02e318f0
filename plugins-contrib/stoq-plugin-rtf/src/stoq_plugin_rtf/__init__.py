"""stoQ plugin ``rtf``: RTF documents: embedded OLE objects and packages (class names, CLSIDs, Equation Editor), extracted."""

from .plugin import RtfPlugin

__all__ = ["RtfPlugin"]
