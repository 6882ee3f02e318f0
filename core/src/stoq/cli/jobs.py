"""Scanning a list of inputs, in this process or in a pool of worker processes.

Each worker process builds its own ``Stoq`` from the parent's resolved settings (so its plugin
instances are its own) and returns the serialised response; results come back in input order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Union

from stoq.data_classes import PayloadMeta, RequestMeta
from stoq.serialize import dumps

if TYPE_CHECKING:
    from stoq.core import Stoq

__all__ = ["Outcome", "ScanOptions", "scan_items"]

log = logging.getLogger("stoq.cli")

#: A file path (str), or bytes already read from standard input.
Item = Union[str, bytes]


@dataclass
class ScanOptions:
    """What every request of one ``stoq scan`` shares (picklable, sent to workers)."""

    request_source: Optional[str]
    request_extra: Dict[str, Any]
    start_dispatch: Optional[List[str]]
    start_deep_dispatch: Optional[List[str]]
    indent: Optional[int]


@dataclass
class Outcome:
    """One input's result: the response text, or why there is none."""

    text: Optional[str]
    failed: bool
    problem: Optional[str] = None


def scan_one(stoq: Stoq, item: Item, options: ScanOptions) -> Outcome:
    """Scan one file (or stdin's bytes) as one request."""
    if isinstance(item, bytes):
        content, meta = item, PayloadMeta()
    else:
        try:
            content = Path(item).read_bytes()
        except OSError as exc:
            return Outcome(None, True, f"cannot read {item!r}: {exc.strerror or exc}")
        meta = PayloadMeta(extra_data={"filename": item})
    request = RequestMeta(source=options.request_source, extra_data=dict(options.request_extra))
    failures = stoq.connector_failures
    response = stoq.scan(
        content, meta, request, options.start_dispatch, options.start_deep_dispatch
    )
    failed = bool(response.errors) or stoq.connector_failures > failures
    return Outcome(dumps(response, indent=options.indent), failed)


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
            yield scan_one(stoq, item, options)
        return
    from stoq.cli.common import setup_logging
    from stoq.consumers import DONE, ConsumerPool, stoq_for

    stoq.preload_plugins()  # forked consumers inherit the imported plugin code
    feed_order = iter(enumerate(items))
    setup = (setup_logging, (stoq.settings.log_level, stoq.settings.log_dir))
    pool = ConsumerPool(jobs, stoq_for(stoq), _scan_in_consumer, (options,), setup)
    done: Dict[int, Outcome] = {}
    next_index = 0
    for index, outcome, exit_code in pool.process(lambda _timeout: next(feed_order, DONE)):
        if exit_code is not None:
            name = "standard input" if isinstance(items[index], bytes) else repr(items[index])
            outcome = Outcome(
                None, True, f"scanning {name} killed its process (exit code {exit_code})"
            )
        done[index] = outcome
        while next_index in done:
            yield done.pop(next_index)
            next_index += 1
