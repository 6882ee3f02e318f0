"""stoQ plugin ``hash``: message digests of each payload."""

from .plugin import HashPlugin

__all__ = ["HashPlugin"]
