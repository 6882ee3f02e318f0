"""stoQ plugin ``elf``: ELF structure: machine, interpreter, needed libraries, sections and segments with entropy, symbols."""

from .plugin import ElfPlugin

__all__ = ["ElfPlugin"]
