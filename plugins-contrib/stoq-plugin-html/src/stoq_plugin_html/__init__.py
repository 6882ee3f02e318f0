"""stoQ plugin ``html``: HTML documents: scripts (extracted), links, forms, iframes, meta refresh."""

from .plugin import HtmlPlugin

__all__ = ["HtmlPlugin"]
