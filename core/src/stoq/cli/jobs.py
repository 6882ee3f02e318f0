"""Scanning a list of inputs, in this process or in a pool of worker processes.

Each worker process builds its own ``Stoq`` from the parent's resolved settings (so its plugin
instances are its own) and returns the serialised response; results come back in input order.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
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


_worker: Dict[str, Any] = {}


def _start_worker(
    kwargs: Dict[str, Any], options: ScanOptions, log_level: str, log_dir: Optional[str]
) -> None:
    """Pool initializer: logging, and this process's own Stoq (closed when the process exits)."""
    from multiprocessing import util

    from stoq.cli.common import setup_logging
    from stoq.core import Stoq

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    setup_logging(log_level, log_dir)
    stoq = Stoq(**kwargs)
    util.Finalize(stoq, stoq.close, exitpriority=10)
    _worker.update(stoq=stoq, options=options)


def _scan_in_worker(item: Item) -> Outcome:
    return scan_one(_worker["stoq"], item, _worker["options"])


def worker_kwargs(stoq: Stoq, plugin_opts: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Arguments that rebuild ``stoq`` in another process: its resolved settings, no profile."""
    kwargs = stoq.settings.as_dict()
    kwargs.update(
        config_file=str(stoq.config.path) if stoq.config.path else None,
        plugin_opts=plugin_opts,
        profile=None,
    )
    return kwargs


def scan_items(
    stoq: Stoq,
    items: List[Item],
    options: ScanOptions,
    jobs: int,
    plugin_opts: Dict[str, Dict[str, Any]],
) -> Iterator[Outcome]:
    """Outcomes in the order of ``items``; with ``jobs`` > 1 scanned by that many processes."""
    jobs = min(jobs, len(items))
    if jobs <= 1:
        for item in items:
            yield scan_one(stoq, item, options)
        return
    settings = stoq.settings
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded parent
        initializer=_start_worker,
        initargs=(worker_kwargs(stoq, plugin_opts), options, settings.log_level, settings.log_dir),
    )
    try:
        yield from pool.map(_scan_in_worker, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
