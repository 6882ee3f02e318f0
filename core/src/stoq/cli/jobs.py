"""Scanning a list of inputs, in this process or in a pool of worker processes.

Each worker process builds its own ``Stoq`` from the parent's resolved settings (so its plugin
instances are its own) and returns the serialised response; results come back in input order.
"""

from __future__ import annotations

import io
import os
import stat

from stoq.cli import resume_collector
from stoq.crashsite import describe, lost
from stoq.data_classes import Error, Payload, PayloadMeta, RequestMeta, StoqResponse
from stoq.log import get_logger
from stoq.request import RequestArgs
from stoq.serialize import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Dict, Iterator, List, Optional, Tuple, Union

    from stoq.core import Stoq

    #: A file path (str), or standard input already read: its bytes and whether it was cut.
    Item = Union[str, Tuple[bytes, bool]]
    from stoq.crashsite import Where

__all__ = ["Outcome", "ScanOptions", "read_bounded", "scan_items"]

log = get_logger("stoq.cli")


class ScanOptions:
    """What every request of one ``stoq scan`` shares (picklable, sent to workers)."""

    __slots__ = (
        "indent",
        "read_limit",
        "request_extra",
        "request_source",
        "start_deep_dispatch",
        "start_dispatch",
    )

    def __init__(
        self,
        request_source: Optional[str],
        request_extra: Dict[str, Any],
        start_dispatch: Optional[List[str]],
        start_deep_dispatch: Optional[List[str]],
        indent: Optional[int],
        read_limit: int = 256 * 1024**2,
    ) -> None:
        self.request_source = request_source
        self.request_extra = request_extra
        self.start_dispatch = start_dispatch
        self.start_deep_dispatch = start_deep_dispatch
        self.indent = indent
        #: The most bytes read from one input (``max_payload_size``); the rest is reported cut.
        self.read_limit = read_limit


class Outcome:
    """One input's result: the response text, or why there is none."""

    __slots__ = ("failed", "problem", "text")

    def __init__(self, text: Optional[str], failed: bool, problem: Optional[str] = None) -> None:
        self.text = text
        self.failed = failed
        self.problem = problem


def read_bounded(stream: BinaryIO, limit: int) -> Tuple[bytes, bool]:
    """At most ``limit`` bytes of ``stream``, and whether there was more (files, FIFOs, stdin,
    ``/dev/zero``: nothing is read past the bound, and one byte beyond it to know).

    The content is held once: a regular file is read in one call of its size, a stream into
    one growing buffer (joining chunks, or cutting to the bound, would copy a 1 GiB input and
    double the peak memory of the scan).
    """
    size = _regular_size(stream)
    if size is None:
        content = _read_stream(stream, limit)
    else:
        content = stream.read(min(size, limit))
        if len(content) < limit:  # a file that grew while it was read
            content += _read_stream(stream, limit - len(content))
    return content, len(content) == limit and bool(stream.read(1))


def _regular_size(stream: BinaryIO) -> Optional[int]:
    """The size of a regular file behind ``stream``; None for pipes, devices and the like."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _read_stream(stream: BinaryIO, limit: int) -> bytes:
    buffer = io.BytesIO()  # getvalue() hands over its bytes without a copy
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024**2))
        if not chunk:
            break
        buffer.write(chunk)
        remaining -= len(chunk)
    return buffer.getvalue()


def _request_meta(options: ScanOptions) -> RequestMeta:
    return RequestMeta(source=options.request_source, extra_data=dict(options.request_extra))


def scan_one(stoq: Stoq, item: Item, options: ScanOptions) -> Outcome:
    """Scan one file (or stdin's bytes) as one request."""
    cut = False
    if isinstance(item, tuple):
        (content, cut), meta = item, PayloadMeta()
    else:
        try:
            with open(item, "rb") as handle:
                content, cut = read_bounded(handle, options.read_limit)
        except OSError as exc:
            return Outcome(None, True, f"cannot read {item!r}: {exc.strerror or exc}")
        meta = PayloadMeta(extra_data={"filename": item})
    payload = Payload(content, meta)
    errors: List[Error] = []
    if cut:
        errors.append(
            Error(
                f"input cut at {options.read_limit} bytes (max_payload_size); the rest was not"
                " read or scanned",
                None,
                payload.payload_id,
                "limit",
            )
        )
    args = RequestArgs(
        _request_meta(options), options.start_dispatch, options.start_deep_dispatch, errors
    )
    outcome = stoq.request(payload, args)
    return Outcome(dumps(outcome.response, indent=options.indent), outcome.failed)


def _lost(item: Item, exit_code: int, where: Where, options: ScanOptions) -> Outcome:
    """An input whose scan killed its process still gets a response, with the error (naming
    the plugin it died in, when it was in one)."""
    name = "standard input" if isinstance(item, tuple) else repr(item)
    problem = f"scanning {name} killed its process (exit code {exit_code}){describe(where)}"
    response = StoqResponse([], _request_meta(options), [lost(problem, where)])
    return Outcome(dumps(response, indent=options.indent), True, problem)


def _scan_in_consumer(stoq: Stoq, item: Item, options: ScanOptions) -> Outcome:
    """Runs in a consumer process (module level, so it can be pickled by reference)."""
    return scan_one(stoq, item, options)


def scan_items(
    stoq: Stoq,
    items: List[Item],
    options: ScanOptions,
    jobs: int,
) -> Iterator[Outcome]:
    """Outcomes in the order of ``items``; with ``jobs`` > 1 scanned by a consumer pool.

    A consumer process that dies (a plugin crashing in native code) is replaced; the file it
    held gets an Outcome saying so, and the other files are still scanned.
    """
    jobs = min(jobs, len(items))
    if jobs <= 1:
        for item in items:
            outcome = scan_one(stoq, item, options)
            resume_collector()  # the first request has loaded the plugins: start-up is over
            yield outcome
        return
    from stoq.cli.common import setup_logging
    from stoq.consumers import DONE, ConsumerPool, stoq_for

    shared = stoq.preload_plugins()  # forked consumers inherit the code and fork-safe plugins
    resume_collector()  # before the fork: consumers collect, and share what start-up built
    feed_order = iter(enumerate(items))
    from stoq.log import log_format

    setup = (setup_logging, (stoq.settings.log_level, stoq.settings.log_dir, log_format()))
    pool = ConsumerPool(jobs, stoq_for(stoq), _scan_in_consumer, (options,), setup, shared)
    done: Dict[int, Outcome] = {}
    next_index = 0
    for index, outcome, exit_code in pool.process(lambda _timeout: next(feed_order, DONE)):
        if exit_code is not None:
            outcome = _lost(items[index], exit_code, outcome, options)
        done[index] = outcome
        while next_index in done:
            yield done.pop(next_index)
            next_index += 1
