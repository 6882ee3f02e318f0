"""stoQ plugin ``olevba``: VBA and Excel 4 (XLM) macros in OLE and OOXML documents: modules, AutoExec and suspicious keywords, IOCs."""

from .plugin import OlevbaPlugin

__all__ = ["OlevbaPlugin"]
