"""stoQ plugin ``exif``: Image metadata (EXIF): camera, GPS position, software and dates."""

from .plugin import ExifPlugin

__all__ = ["ExifPlugin"]
