"""stoQ plugin ``results``: deep dispatch from worker results by rules in the options."""

from .plugin import ResultsPlugin

__all__ = ["ResultsPlugin"]
