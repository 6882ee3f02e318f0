"""Running one plugin method on bytes or a file, and walking a response's result tree."""

from __future__ import annotations

import os
import queue
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple, Type, Union

from stoq.core import Stoq
from stoq.data_classes import Payload, PayloadMeta, PayloadResults, RequestMeta, StoqResponse
from stoq.deadline import call_with_deadline
from stoq.exceptions import StoqPluginTimeout
from stoq.plugins import BasePlugin, roles_of
from stoq.testing._build import make_stoq

__all__ = ["read_input", "run_plugin", "walk"]

#: Methods that take ``(payload, request_meta)``.
PAYLOAD_METHODS = ("scan", "get_dispatches", "get_deep_dispatches", "archive")
#: Methods that take a finished ``StoqResponse``.
RESPONSE_METHODS = ("decorate", "save")
METHODS = PAYLOAD_METHODS + RESPONSE_METHODS + ("get", "ingest")


def read_input(
    data: Union[bytes, str, os.PathLike[str]], payload_meta: Optional[PayloadMeta] = None
) -> Tuple[bytes, PayloadMeta]:
    """Content and metadata for ``data``: bytes as is, text as UTF-8, a path read from disk.

    A file's name goes into ``extra_data['filename']``, as ``stoq scan`` does, unless the test
    gives its own ``payload_meta``.
    """
    if isinstance(data, os.PathLike):
        path = Path(data)
        meta = (
            payload_meta
            if payload_meta is not None
            else PayloadMeta(extra_data={"filename": path.name})
        )
        return path.read_bytes(), meta
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"expected bytes, str or a path, got {type(data).__name__}")
    return bytes(data), payload_meta if payload_meta is not None else PayloadMeta()


def _arguments(
    stoq: Stoq,
    method: str,
    data: Any,
    request_meta: RequestMeta,
    payload_meta: Optional[PayloadMeta],
) -> Tuple[Any, ...]:
    if method in PAYLOAD_METHODS:
        content, meta = read_input(data, payload_meta)
        return Payload(content, meta), request_meta
    if method in RESPONSE_METHODS:
        if isinstance(data, StoqResponse):
            return (data,)
        content, meta = read_input(data, payload_meta)
        return (stoq.scan(content, meta, request_meta),)
    return (data,)  # ``get``: the task as given


def run_plugin(
    plugin: Union[str, Type[BasePlugin]],
    method: str,
    data: Any = b"",
    *,
    plugin_opts: Optional[Mapping[str, Any]] = None,
    request_meta: Optional[RequestMeta] = None,
    payload_meta: Optional[PayloadMeta] = None,
) -> Any:
    """Call one method of one plugin, within its timeout, and return what it returned.

    ``plugin`` is an entry-point name or a plugin class (built under its class name without
    installing it). ``data`` is the payload for scan/get_dispatches/get_deep_dispatches/archive
    (bytes, text or a file path), the response (or content scanned into one) for
    decorate/save, and the task for ``get``. ``ingest`` returns the list of queued items.
    Exceptions from the plugin propagate; passing the deadline raises ``StoqPluginTimeout``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown plugin method {method!r}; expected one of {', '.join(METHODS)}")
    if isinstance(plugin, str):
        name, classes = plugin, {}
    else:
        name, classes = plugin.__name__, {plugin.__name__: plugin}
    stoq = make_stoq(classes, {name: dict(plugin_opts or {})})
    try:
        instance = stoq.load_plugin(name)
        function = getattr(instance, method, None)
        if not callable(function):
            raise AttributeError(
                f"plugin {name!r} ({type(instance).__name__}, roles {roles_of(type(instance))})"
                f" has no method {method!r}"
            )
        timeout = stoq.timeout_for(name)
        if method == "ingest":
            items: queue.Queue[Any] = queue.Queue()
            _, timed_out = call_with_deadline(timeout, function, items)
            result: Any = list(items.queue)
        else:
            args = _arguments(stoq, method, data, request_meta or RequestMeta(), payload_meta)
            result, timed_out = call_with_deadline(timeout, function, *args)
        if timed_out:
            raise StoqPluginTimeout(
                f"plugin {name!r} {method}() did not finish within {timeout:g}s"
            )
        return result
    finally:
        stoq.close()


def walk(response: StoqResponse) -> Iterator[Tuple[int, PayloadResults]]:
    """Every result with its depth (0 for the root, 1 for its children, ...), in scan order."""
    depths: Dict[str, int] = {}
    for result in response.results:
        parent = result.extracted_from
        depth = depths[parent] + 1 if parent in depths else 0
        depths[result.payload_id] = depth
        yield depth, result
