"""stoQ plugin ``lnk``: Windows shortcut (LNK) files: target, arguments, working directory, icon, machine id, MAC address, timestamps."""

from .plugin import LnkPlugin

__all__ = ["LnkPlugin"]
