"""Logging set-up for applications; the library itself only ever adds a NullHandler.

``logging`` is imported when a record is kept, not before: a scan that logs nothing (most do)
never pays for it (with ``traceback``, ``tokenize``, ``string`` and ``weakref`` it is ~10 % of a
small ``stoq scan``). ``get_logger`` hands out a ``StoqLogger`` that drops a record nobody
can see (``logging`` not imported and ``configure_logging`` not called, or the record below the
level it set) and otherwise passes it to the real ``logging.Logger``; ``configure_logging``
only notes its settings until then. Once ``logging`` is imported by anyone, loggers pass
everything on, as plain loggers would.
"""

from __future__ import annotations

import os
import sys

from stoq.log_context import current_plugin, current_scan

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any, Dict, Optional, Tuple

__all__ = [
    "StoqLogger",
    "adopt",
    "configure_logging",
    "configured",
    "current_plugin",
    "current_scan",
    "get_logger",
]

#: ``logging``'s level names (``logging.getLevelName`` without importing it).
_LEVELS = {
    "CRITICAL": 50, "FATAL": 50, "ERROR": 40, "WARNING": 30, "WARN": 30, "INFO": 20,
    "DEBUG": 10, "NOTSET": 0,
}  # fmt: skip
_configured: Optional[Tuple[str, Optional[str]]] = None
_log_format = "text"
#: Whether ``logging`` is set up for stoq (NullHandler, and ``configure_logging``'s handlers).
_ready = False
#: ``configure_logging``'s arguments, waiting for ``logging`` to be imported.
_pending: Optional[Tuple[str, Optional[str]]] = None


def _set_up() -> None:
    """Import ``logging`` and give it what stoq set aside: the ``stoq`` logger's NullHandler
    (without application set-up, stoq's records go nowhere instead of stderr) and the
    handlers ``configure_logging`` was asked for."""
    global _ready, _pending
    if _ready:
        return
    import logging

    _ready = True
    logging.getLogger("stoq").addHandler(logging.NullHandler())
    if _pending is not None:
        level, log_dir = _pending
        _pending = None
        _install(level, log_dir)


def adopt() -> None:
    """Set ``logging`` up now if some other code has imported it (a plugin module that logs
    through ``logging.getLogger`` itself): its ``stoq.*`` records then meet stoq's handlers."""
    if not _ready and "logging" in sys.modules:
        _set_up()


class StoqLogger:
    """A ``logging.Logger`` stand-in that imports ``logging`` only for a record someone can
    see; any other attribute is the real logger's."""

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: Optional[logging.Logger] = None

    @property
    def logger(self) -> logging.Logger:
        """The real ``logging.Logger`` of this name."""
        if self._logger is None:
            _set_up()
            import logging

            self._logger = logging.getLogger(self.name)
        return self._logger

    def _emit(self, level: int, msg: Any, args: Any, kwargs: Dict[str, Any]) -> None:
        if (
            not _ready
            and "logging" not in sys.modules
            and (_pending is None or level < _LEVELS[_pending[0].upper()])
        ):
            return  # no handler exists anywhere, or the configured level drops the record
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2  # the caller's line, not ours
        self.logger.log(level, msg, *args, **kwargs)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit(10, msg, args, kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit(20, msg, args, kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit(30, msg, args, kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit(40, msg, args, kwargs)

    def exception(self, msg: Any, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        self._emit(40, msg, args, {"exc_info": exc_info, **kwargs})

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit(50, msg, args, kwargs)

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._emit(level, msg, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.logger, name)

    def __repr__(self) -> str:
        return f"<StoqLogger {self.name}>"


_loggers: Dict[str, StoqLogger] = {}


def get_logger(name: str = "stoq") -> StoqLogger:
    """A library logger (one per name); see the module's docstring for why not
    ``logging.getLogger``."""
    logger = _loggers.get(name)
    if logger is None:
        logger = _loggers[name] = StoqLogger(name)
    return logger


def _level_number(level: str) -> int:
    number = _LEVELS.get(level.upper())
    if number is None:
        raise ValueError(
            f"log level {level!r}: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
        )
    return number


def configure_logging(
    level: str = "INFO", log_dir: Optional[str] = None, log_format: Optional[str] = None
) -> None:
    """Send stoq's logs to stderr (and ``log_dir/stoq.log``); calling it again only sets the level.

    Tracebacks go to the log file always, and to the terminal only at DEBUG level.
    ``log_format="json"``: one JSON object per line everywhere (with scan id and plugin).
    The handlers are made when ``logging`` is first needed (see the module's docstring).
    """
    global _configured, _log_format, _pending
    if log_format is not None:
        if log_format not in ("text", "json"):
            raise ValueError(f"log format {log_format!r}: expected text or json")
        _log_format = log_format
    _level_number(level)
    _configured = (level, _configured[1] if _configured else log_dir)
    if _ready or "logging" in sys.modules:
        _set_up()
        _install(*_configured)
    else:
        _pending = _configured


#: Whether ``_install`` has added the handlers (later calls only set the level).
_installed = False


def _install(level: str, log_dir: Optional[str]) -> None:
    import logging

    from stoq.log_formatters import FORMAT, JsonFormatter, terminal_formatter

    global _installed
    logger = logging.getLogger("stoq")
    logger.setLevel(_level_number(level))
    if _installed:
        for existing in logger.handlers:
            if type(existing) is logging.StreamHandler:
                existing.setFormatter(terminal_formatter(level, _log_format))
        return
    _installed = True
    handler: logging.Handler = logging.StreamHandler()
    handler.setFormatter(terminal_formatter(level, _log_format))
    logger.addHandler(handler)
    if log_dir:
        from logging.handlers import RotatingFileHandler  # ~10 ms of imports: only for a file

        os.makedirs(log_dir, exist_ok=True)
        file_handler = RotatingFileHandler(
            os.path.join(log_dir, "stoq.log"), maxBytes=10 * 1024**2, backupCount=5
        )
        file_handler.setFormatter(
            JsonFormatter() if _log_format == "json" else logging.Formatter(FORMAT)
        )
        logger.addHandler(file_handler)


def configured() -> Optional[Tuple[str, Optional[str]]]:
    """``(level, log_dir)`` as set by ``configure_logging``; None if it was never called."""
    return _configured


def log_format() -> str:
    """``text`` or ``json``, as set by ``configure_logging``."""
    return _log_format


def __getattr__(name: str) -> Any:
    """``stoq.log.JsonFormatter``, importing ``logging`` only when it is asked for."""
    if name == "JsonFormatter":
        from stoq.log_formatters import JsonFormatter

        return JsonFormatter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
