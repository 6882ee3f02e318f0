"""Calling a plugin method once: deadline, exception capture, return-type check.

Every failure becomes an ``Error`` record and the caller gets ``None``: failures are data.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, List, Optional, Tuple, Type, Union

from stoq.data_classes import Error
from stoq.deadline import call_with_deadline
from stoq.exceptions import StoqPluginTimeout

__all__ = ["PluginCall", "invoke", "normalise_errors", "one_line"]

log = logging.getLogger("stoq")


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, as every Error's text is."""
    text = " ".join(str(exc).split())
    if type(exc).__name__ == "IsolatedPluginError":  # already "Type: message" from the child
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def normalise_errors(
    raw: Any, plugin_name: str, payload_id: Optional[str], stage: str
) -> List[Error]:
    """Plugins may report strings or Error objects; the response holds Error records."""
    errors = []
    for item in raw or ():
        if isinstance(item, Error):
            errors.append(
                Error(
                    " ".join(item.error.split()),
                    item.plugin_name or plugin_name,
                    item.payload_id or payload_id,
                    item.stage or stage,
                )
            )
        else:
            errors.append(Error(" ".join(str(item).split()), plugin_name, payload_id, stage))
    return errors


class PluginCall:
    """One plugin method, ready to call: the engine builds it once per plugin and method."""

    __slots__ = ("isolated", "method", "plugin_name", "timeout")

    def __init__(self, plugin_name: str, method: Callable[..., Any], timeout: float) -> None:
        self.plugin_name = plugin_name
        self.method = method
        self.timeout = timeout
        #: An isolated plugin's child process enforces the deadline itself.
        self.isolated = bool(getattr(getattr(method, "__self__", None), "isolated", False))


def invoke(
    errors: List[Error],
    stage: str,
    payload_id: Optional[str],
    call: PluginCall,
    expected: Union[Type[Any], Tuple[Type[Any], ...], None],
    *args: Any,
) -> Any:
    """Run the call within its deadline; record any failure in ``errors`` and return None.

    ``expected`` is the response type the method must return (``None`` is always allowed);
    pass ``None`` for methods whose return value is ignored.
    """
    try:
        if call.isolated:
            result, timed_out = call.method(*args), False
        else:
            result, timed_out = call_with_deadline(call.timeout, call.method, *args)
    except StoqPluginTimeout as exc:
        log.error("plugin %r: %s", call.plugin_name, exc)
        errors.append(Error(f"{exc} during {stage}", call.plugin_name, payload_id, "timeout"))
        return None
    except MemoryError as exc:
        log.error("plugin %r ran out of memory at stage %s", call.plugin_name, stage, exc_info=True)
        errors.append(Error(one_line(exc), call.plugin_name, payload_id, "limit"))
        return None
    except Exception as exc:
        log.error(
            "plugin %r failed at stage %s on payload %s",
            call.plugin_name,
            stage,
            payload_id,
            exc_info=True,
        )
        errors.append(Error(one_line(exc), call.plugin_name, payload_id, stage))
        return None
    if timed_out:
        log.error(
            "plugin %r passed its %ss deadline at stage %s", call.plugin_name, call.timeout, stage
        )
        errors.append(
            Error(
                f"timed out after {call.timeout:g}s during {stage}",
                call.plugin_name,
                payload_id,
                "timeout",
            )
        )
        return None
    if expected is not None and result is not None and not isinstance(result, expected):
        names = expected.__name__ if isinstance(expected, type) else expected[0].__name__
        errors.append(
            Error(
                f"returned {type(result).__name__}, expected {names} or None",
                call.plugin_name,
                payload_id,
                stage,
            )
        )
        return None
    return result
