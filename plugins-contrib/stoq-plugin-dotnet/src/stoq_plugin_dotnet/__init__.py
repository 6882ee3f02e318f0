"""stoQ plugin ``dotnet``: .NET assembly metadata: name, version, references, resources, type and method counts."""

from .plugin import DotnetPlugin

__all__ = ["DotnetPlugin"]
