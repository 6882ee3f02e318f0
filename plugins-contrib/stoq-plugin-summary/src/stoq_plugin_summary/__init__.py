"""stoQ plugin ``summary``: A request-level list of findings a human should look at, each with its payload and a severity."""

from .plugin import SummaryPlugin

__all__ = ["SummaryPlugin"]
