"""The core's version, read by the build backend and by ``stoq.__version__``."""

__version__ = "4.0.0"
