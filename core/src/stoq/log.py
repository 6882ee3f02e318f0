"""Logging set-up for applications; the library itself only ever adds a NullHandler."""

from __future__ import annotations

import logging
import logging.handlers
import os
from typing import Optional, Tuple

__all__ = ["configure_logging", "configured"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_configured: Optional[Tuple[str, Optional[str]]] = None


class _NoTraceback(logging.Formatter):
    """Terminal lines without tracebacks: a plugin's failure is already summarised in the
    response, and its traceback still reaches the log file (and the terminal at debug)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def _terminal_formatter(level: str) -> logging.Formatter:
    return logging.Formatter(_FORMAT) if level.upper() == "DEBUG" else _NoTraceback(_FORMAT)


def configure_logging(level: str = "INFO", log_dir: Optional[str] = None) -> None:
    """Send stoq's logs to stderr (and ``log_dir/stoq.log``); calling it again only sets the level.

    Tracebacks go to the log file always, and to the terminal only at DEBUG level.
    """
    global _configured
    logger = logging.getLogger("stoq")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(
            f"log level {level!r}: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
        )
    logger.setLevel(numeric)
    if _configured:
        for existing in logger.handlers:
            if type(existing) is logging.StreamHandler:
                existing.setFormatter(_terminal_formatter(level))
        _configured = (level, _configured[1])
        return
    handler: logging.Handler = logging.StreamHandler()
    handler.setFormatter(_terminal_formatter(level))
    logger.addHandler(handler)
    if log_dir:
        os.makedirs(log_dir, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            os.path.join(log_dir, "stoq.log"), maxBytes=10 * 1024**2, backupCount=5
        )
        file_handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(file_handler)
    _configured = (level, log_dir)


def configured() -> Optional[Tuple[str, Optional[str]]]:
    """``(level, log_dir)`` as set by ``configure_logging``; None if it was never called."""
    return _configured
