"""stoQ plugin ``macho``: Mach-O structure: fat slices extracted, load commands, dylibs, code signature and entitlements."""

from .plugin import MachoPlugin

__all__ = ["MachoPlugin"]
