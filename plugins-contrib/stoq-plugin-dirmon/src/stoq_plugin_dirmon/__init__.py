"""stoQ plugin ``dirmon``: Watches folders for new or changed files, read once they stop growing."""

from .plugin import DirmonPlugin

__all__ = ["DirmonPlugin"]
