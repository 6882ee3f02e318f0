"""stoQ plugin ``{{ cookiecutter.plugin_name }}``: {{ cookiecutter.description.rstrip('.') }}."""

from .plugin import {{ cookiecutter.__class_name }}

__all__ = ["{{ cookiecutter.__class_name }}"]
