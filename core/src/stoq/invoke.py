"""Every call of a plugin, in one place: find it for a role, call it within its deadline, check
what it returned, and record each failure as an ``Error`` (SPEC §5.2: failures are data).

``PluginCalls`` is the only object that calls plugin methods for a request; the request,
decorators, connectors and run mode all go through it. ``KeyboardInterrupt`` is the one
exception it lets through (it stops the scan); ``SystemExit`` from plugin code is an error.
"""

from __future__ import annotations

import json

from stoq import crashsite, tracing
from stoq.cache import ResultCache, plugin_key
from stoq.data_classes import Error
from stoq.deadline import call_with_deadline
from stoq.exceptions import StoqPluginException, StoqPluginTimeout
from stoq.log import current_plugin, get_logger
from stoq.serialize import jsonable
from stoq.stdout import plugin_output

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Type, Union

    from stoq.loader import PluginManager

    Expected = Union[Type[Any], Tuple[Type[Any], ...], None]

__all__ = ["PluginCall", "PluginCalls", "checked_names", "normalise_errors", "one_line"]

log = get_logger("stoq")


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line, as every Error's text is."""
    text = " ".join(str(exc).split())
    if type(exc).__name__ == "IsolatedPluginError":  # already "Type: message" from the child
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def normalise_errors(
    raw: Any, plugin_name: str, payload_id: Optional[str], stage: str
) -> List[Error]:
    """Plugins may report strings or Error objects; the response holds Error records.

    An ``Error`` keeps its own stage: a plugin reports "not everything was scanned" with
    ``Error(text, stage="limit")``, as the engine does for its own limits.
    """
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
        raw = [raw] if raw else []
    errors = []
    for item in raw:
        if isinstance(item, Error):
            errors.append(
                Error(
                    item.error if isinstance(item.error, str) else str(item.error),
                    item.plugin_name or plugin_name,
                    item.payload_id or payload_id,
                    item.stage or stage,
                )
            )
        else:
            errors.append(Error(str(item), plugin_name, payload_id, stage))
    return errors


#: Values JSON writes as they are (floats also, when finite).
_SCALARS = frozenset((str, int, bool, type(None)))
_TEXT = frozenset((str,))
#: Container levels below a result that are checked in place before ``json.dumps`` is asked.
_PLAIN_DEPTH = 3


def checked_results(value: Any) -> Any:
    """``value`` if it can be written as JSON (§5.7 converts it on output); raises if not.

    The common results (a dict with text keys holding scalars, lists and dicts of them, a few
    levels deep) are checked in place; other values pass one ``json.dumps``; bytes keys, NaN
    and the like take the slower conversion, which raises ``ValueError`` only for what no
    conversion can write.
    """
    if type(value) is dict:  # the top level inline: a flat dict is the most common result
        for k, v in value.items():
            kind = type(v)
            if type(k) is not str or not (
                kind in _SCALARS or (v - v == 0 if kind is float else _plain(v, _PLAIN_DEPTH - 1))
            ):
                break
        else:
            return value
    try:
        json.dumps(value, default=_probe, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        jsonable(value)
    return value


def _plain(value: Any, depth: int) -> bool:
    """Whether ``value`` is an exact list, or dict with ``str`` keys, of exact ``str``,
    ``int``, ``bool``, ``None``, finite floats and (``depth`` levels more) such containers:
    what ``json.dumps`` writes as it is. False leaves the value to ``json.dumps``."""
    kind = type(value)
    if depth < 0 or (kind is not dict and kind is not list):
        return False
    if kind is dict and not _TEXT.issuperset(map(type, value)):
        return False
    for v in value.values() if kind is dict else value:
        kind = type(v)
        if not (kind in _SCALARS or (v - v == 0 if kind is float else _plain(v, depth - 1))):
            return False
    return True


def _probe(obj: Any) -> Any:
    raise TypeError  # anything json cannot write natively takes the full conversion


def checked_names(value: Any, what: str) -> List[str]:
    """A list of plugin names, or ``TypeError`` saying what was given instead."""
    if isinstance(value, (list, tuple)) and all(isinstance(n, str) for n in value):
        return list(value)
    if isinstance(value, str):
        raise TypeError(
            f"{what} is the text {value!r}, expected a list of plugin names (e.g. [{value!r}])"
        )
    raise TypeError(f"{what} is {type(value).__name__}, expected a list of plugin names")


class PluginCall:
    """One plugin method, ready to call: built once per plugin and method."""

    __slots__ = ("isolated", "label", "method", "plain", "plugin_name", "timeout", "writes_stdout")

    def __init__(self, plugin_name: str, method: Callable[..., Any], timeout: float) -> None:
        self.plugin_name = plugin_name
        self.method = method
        self.timeout = timeout
        #: What a consumer process records while in this call (``stoq.crashsite``).
        self.label = crashsite.label(plugin_name, getattr(method, "__name__", "call"))
        owner = getattr(method, "__self__", None)
        #: An isolated plugin's child process enforces the deadline itself.
        self.isolated = bool(getattr(owner, "isolated", False))
        #: A connector whose job is writing responses to standard output (stdout's owner).
        self.writes_stdout = bool(getattr(owner, "writes_stdout", False))
        #: Neither: the common case, called directly under its deadline.
        self.plain = not (self.isolated or self.writes_stdout)


class PluginCalls:
    """Owns plugin calls: the manager, the cache of ready calls, and error recording."""

    def __init__(self, plugins: PluginManager) -> None:
        self.plugins = plugins
        self._calls: Dict[Tuple[str, str], PluginCall] = {}
        self._noticed: Set[Tuple[str, str]] = set()
        #: The result cache, when one is configured (``stoq.cache``).
        self.cache: Optional[ResultCache] = None
        self._cache_keys: Dict[str, Optional[str]] = {}

    def cache_key(self, call: PluginCall) -> Optional[str]:
        """The plugin's part of its cache keys (None: no cache, or the plugin opts out)."""
        if self.cache is None or self.cache.broken:
            return None
        name = call.plugin_name
        if name not in self._cache_keys:
            self._cache_keys[name] = plugin_key(getattr(call.method, "__self__", None), name)
        return self._cache_keys[name]

    def cache_key_of(self, name: str) -> Optional[str]:
        """``cache_key`` by plugin name (loading the plugin); None if it cannot be loaded."""
        if name not in self._cache_keys:
            try:
                plugin = self.plugins.load(name)
            except StoqPluginException:
                return None
            self._cache_keys[name] = plugin_key(plugin, name)
        return self._cache_keys[name]

    def notice_not_installed(self, dispatcher: str, names: List[str]) -> None:
        """Log, once per engine, that default routing named a plugin that is not installed."""
        for name in names:
            if (dispatcher, name) not in self._noticed:
                self._noticed.add((dispatcher, name))
                log.info(
                    "%s: routes some payloads to plugin %r, which is not installed; skipped",
                    dispatcher,
                    name,
                )

    def plugin(
        self, errors: List[Error], name: str, role: type, stage: str, payload_id: Optional[str]
    ) -> Optional[Any]:
        """The loaded plugin if it serves ``role``; otherwise an Error in ``errors`` and None."""
        try:
            plugin = self.plugins.load(name)
        except StoqPluginException as exc:
            errors.append(Error(str(exc), name, payload_id, "load"))
            return None
        if not isinstance(plugin, role):
            errors.append(
                Error(f"plugin {name!r} is not a {role.__name__}", name, payload_id, stage)
            )
            return None
        return plugin

    def prepare(
        self,
        errors: List[Error],
        name: str,
        role: type,
        method: str,
        stage: str,
        payload_id: Optional[str],
    ) -> Optional[PluginCall]:
        """The plugin's ``method`` ready to invoke (cached), or None with an Error recorded."""
        call = self._calls.get((name, method))
        if call is None:
            plugin = self.plugin(errors, name, role, stage, payload_id)
            if plugin is None:
                return None
            call = self._calls[(name, method)] = PluginCall(
                name, getattr(plugin, method), self.plugins.timeout_of(name)
            )
        return call

    def __call__(
        self,
        errors: List[Error],
        name: str,
        role: type,
        method: str,
        stage: str,
        payload_id: Optional[str],
        expected: Expected,
        *args: Any,
    ) -> Any:
        """Find, call and check in one step; None (with the Error recorded) on any failure."""
        call = self.prepare(errors, name, role, method, stage, payload_id)
        if call is None:
            return None
        return invoke(errors, stage, payload_id, call, expected, *args)

    def clear(self) -> None:
        self._calls.clear()


def invoke(
    errors: List[Error],
    stage: str,
    payload_id: Optional[str],
    call: PluginCall,
    expected: Expected,
    *args: Any,
) -> Any:
    """Run the call within its deadline; record any failure in ``errors`` and return None.

    ``expected`` is the response type the method must return (``None`` is always allowed);
    pass ``None`` for methods whose return value is ignored. Log lines during the call name
    the plugin (``stoq.log.current_plugin``).
    """
    token = current_plugin.set(call.plugin_name)
    site = crashsite.current
    if site is not None:  # a consumer process: its parent names this call if it dies in it
        site.value = call.label
    try:
        if tracing.ON:
            with tracing.plugin_span(call.plugin_name, stage, errors):
                return _invoke(errors, stage, payload_id, call, expected, args)
        return _invoke(errors, stage, payload_id, call, expected, args)
    finally:
        current_plugin.reset(token)
        if site is not None:
            site.value = b""


def _invoke(
    errors: List[Error],
    stage: str,
    payload_id: Optional[str],
    call: PluginCall,
    expected: Expected,
    args: Tuple[Any, ...],
) -> Any:
    try:
        if call.plain:
            result, timed_out = call_with_deadline(call.timeout, call.method, *args)
        else:
            with plugin_output(call.writes_stdout):
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
    except (Exception, SystemExit) as exc:  # a plugin's sys.exit() ends its call, not stoq
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


def unusable(
    errors: List[Error], name: str, payload_id: Optional[str], stage: str, exc: Exception
) -> None:
    """Record a response the engine could not use (malformed fields, unwritable results)."""
    log.error("plugin %r returned an unusable response at stage %s", name, stage, exc_info=True)
    errors.append(Error(f"unusable response: {one_line(exc)}", name, payload_id, stage))
