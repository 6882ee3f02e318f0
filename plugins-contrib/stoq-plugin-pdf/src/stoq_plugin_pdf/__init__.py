"""stoQ plugin ``pdf``: PDF documents: JavaScript, automatic and external actions, embedded files (extracted), encryption, object counts."""

from .plugin import PdfPlugin

__all__ = ["PdfPlugin"]
