"""stoQ plugin ``jinja``: Responses rendered through a Jinja2 template, to a file or standard output."""

from .plugin import JinjaPlugin

__all__ = ["JinjaPlugin"]
