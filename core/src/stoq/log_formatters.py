"""The formatters ``stoq.configure_logging`` installs (imported with ``logging``, when needed)."""

from __future__ import annotations

import json
import logging

from stoq.log_context import current_plugin, current_scan
from stoq.serialize import iso_utc

__all__ = ["FORMAT", "JsonFormatter", "terminal_formatter"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def terminal_formatter(level: str, log_format: str) -> logging.Formatter:
    """Tracebacks on the terminal only at DEBUG; JSON lines when asked."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(FORMAT) if level.upper() == "DEBUG" else _NoTraceback(FORMAT)
