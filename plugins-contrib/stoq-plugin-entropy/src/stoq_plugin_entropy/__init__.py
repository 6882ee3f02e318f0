"""stoQ plugin ``entropy``: Shannon entropy of each payload, in bits per byte."""

from .plugin import EntropyPlugin

__all__ = ["EntropyPlugin"]
