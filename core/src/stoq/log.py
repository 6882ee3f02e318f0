"""Logging set-up for applications; the library itself only ever adds a NullHandler."""

from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar
from typing import Optional, Tuple

from stoq.serialize import iso_utc

__all__ = [
    "JsonFormatter",
    "configure_logging",
    "configured",
    "current_plugin",
    "current_scan",
    "get_logger",
]

# Here rather than in ``stoq/__init__``: ``import stoq`` (and ``stoq --version``) then does not
# import ``logging``, and every module that logs gets its logger from this one.
logging.getLogger("stoq").addHandler(logging.NullHandler())

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_configured: Optional[Tuple[str, Optional[str]]] = None
_log_format = "text"

#: The scan id of the request being run in this thread (``None`` outside a request).
current_scan: ContextVar[Optional[str]] = ContextVar("stoq_scan", default=None)
#: The plugin whose call is running (``None`` between calls).
current_plugin: ContextVar[Optional[str]] = ContextVar("stoq_plugin", default=None)


def get_logger(name: str = "stoq") -> logging.Logger:
    """A library logger; taking it from here guarantees the ``stoq`` NullHandler exists first
    (without any application logging set-up, stoq's records go nowhere instead of stderr)."""
    return logging.getLogger(name)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, scan id, plugin (and the
    traceback, when there is one, as one string), for log shippers that index fields."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "scan_id": getattr(record, "scan_id", None) or current_scan.get(),
            "plugin": getattr(record, "plugin", None) or current_plugin.get(),
            "process": record.process,
        }
        if record.exc_info:
            event["traceback"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


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
    if _log_format == "json":
        return JsonFormatter()
    return logging.Formatter(_FORMAT) if level.upper() == "DEBUG" else _NoTraceback(_FORMAT)


def configure_logging(
    level: str = "INFO", log_dir: Optional[str] = None, log_format: Optional[str] = None
) -> None:
    """Send stoq's logs to stderr (and ``log_dir/stoq.log``); calling it again only sets the level.

    Tracebacks go to the log file always, and to the terminal only at DEBUG level.
    ``log_format="json"``: one JSON object per line everywhere (with scan id and plugin).
    """
    global _configured, _log_format
    if log_format is not None:
        if log_format not in ("text", "json"):
            raise ValueError(f"log format {log_format!r}: expected text or json")
        _log_format = log_format
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
        from logging.handlers import RotatingFileHandler  # ~10 ms of imports: only for a file

        os.makedirs(log_dir, exist_ok=True)
        file_handler = RotatingFileHandler(
            os.path.join(log_dir, "stoq.log"), maxBytes=10 * 1024**2, backupCount=5
        )
        file_handler.setFormatter(
            JsonFormatter() if _log_format == "json" else logging.Formatter(_FORMAT)
        )
        logger.addHandler(file_handler)
    _configured = (level, log_dir)


def configured() -> Optional[Tuple[str, Optional[str]]]:
    """``(level, log_dir)`` as set by ``configure_logging``; None if it was never called."""
    return _configured


def log_format() -> str:
    """``text`` or ``json``, as set by ``configure_logging``."""
    return _log_format
