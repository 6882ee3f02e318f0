"""stoQ plugin ``entropy``: how random each payload's bytes look."""

from .plugin import EntropyPlugin

__all__ = ["EntropyPlugin"]
