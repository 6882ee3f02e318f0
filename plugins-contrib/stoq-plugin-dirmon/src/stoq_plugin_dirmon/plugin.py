"""The ``dirmon`` stoQ plugin: folders watched, each new or changed file scanned once it is complete.

Drop folders (a mail gateway's quarantine, a sandbox's output, an upload share) receive files
that are still being written. watchfiles (inotify, FSEvents, ReadDirectoryChangesW, or polling)
reports changes, grouped over ``debounce_ms``; a changed file is read only after its size and
modification time have stayed the same for ``settle_seconds``, so a file being copied in is
read once, whole. ``stop()`` ends the watch within a tick, so run mode stops cleanly.
"""

from __future__ import annotations

import logging
import os
import queue as queues
import threading
import time
from pathlib import Path
from queue import Queue
from typing import Any, ClassVar, Dict, Iterator, List, Optional, Tuple

import watchfiles

from stoq.data_classes import Payload, PayloadMeta
from stoq.plugins import ProviderPlugin

__all__ = ["DirmonPlugin"]

log = logging.getLogger(__name__)

#: How often (ms) the watch wakes with no change, to read files that have settled.
_TICK_MS = 100
#: Seconds ``stop()`` waits for ``ingest`` to leave the watch.
_STOP_WAIT = 5.0
Signature = Tuple[int, int]


def _signature(path: Path) -> Optional[Signature]:
    """Size and modification time of a regular file; None for anything else or a vanished file."""
    try:
        status = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return status.st_size, status.st_mtime_ns


class DirmonPlugin(ProviderPlugin):
    """Queues a payload for each file that appears or changes under ``paths``."""

    #: Typed defaults; a config file's [plugins.dirmon] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "paths": [],
        "recursive": True,
        "existing": False,
        "debounce_ms": 200,
        "settle_seconds": 1.0,
        "max_size": 256 * 1024 * 1024,
        "force_polling": False,
    }

    def start(self) -> None:
        """Check the folders now, so a typo is a load error rather than a silent idle watch."""
        self.folders = [Path(p).resolve() for p in self.plugin_opts["paths"]]
        missing = [str(p) for p in self.folders if not p.is_dir()]
        if missing:
            raise FileNotFoundError(f"dirmon: not a folder: {', '.join(missing)}")
        self.stopping = threading.Event()

    def stop(self) -> None:
        """End ``ingest`` at its next tick, and wait for it.

        Waiting matters at exit: a watch thread still inside watchfiles' native loop when the
        interpreter finalizes aborts the process on Python 3.9 ("exception not rethrown").
        """
        self.stopping.set()
        thread = getattr(self, "ingesting", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(_STOP_WAIT)

    def _files_under(self, folder: Path) -> Iterator[Path]:
        pattern = "**/*" if self.plugin_opts["recursive"] else "*"
        return (path for path in sorted(folder.glob(pattern)) if path.is_file())

    def ingest(self, queue: Queue) -> None:
        """Watch until ``stop()``: track changed files, queue each once it has settled."""
        if not self.folders:
            raise ValueError("dirmon needs at least one folder in its paths option")
        self.ingesting = threading.current_thread()
        pending: Dict[Path, Optional[Tuple[Signature, float]]] = {}
        if self.plugin_opts["existing"]:
            for folder in self.folders:
                pending.update(dict.fromkeys(self._files_under(folder)))
        read: Dict[Path, Signature] = {}
        self._settle(pending, read, queue)
        for changes in watchfiles.watch(
            *self.folders,
            watch_filter=None,
            debounce=self.plugin_opts["debounce_ms"],
            stop_event=self.stopping,
            rust_timeout=_TICK_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
            recursive=self.plugin_opts["recursive"],
            force_polling=self.plugin_opts["force_polling"] or None,
            ignore_permission_denied=True,
        ):
            for change, name in sorted(changes):
                path = Path(name)
                if change == watchfiles.Change.deleted:
                    pending.pop(path, None)
                elif path.is_dir() and self.plugin_opts["recursive"]:
                    # Files created with their folder can precede the folder's own watch.
                    pending.update(dict.fromkeys(self._files_under(path)))
                else:
                    pending[path] = None
            self._settle(pending, read, queue)

    def _settle(
        self,
        pending: Dict[Path, Optional[Tuple[Signature, float]]],
        read: Dict[Path, Signature],
        queue: Queue,
    ) -> None:
        """Queue the pending files unchanged for ``settle_seconds``; forget vanished ones."""
        now = time.monotonic()
        ready: List[Path] = []
        for path, seen in list(pending.items()):
            signature = _signature(path)
            if signature is None or read.get(path) == signature:
                del pending[path]  # vanished, not a file, or an event (chmod) that left it as read
            elif seen is None or seen[0] != signature:
                pending[path] = (signature, now)
            elif now - seen[1] >= self.plugin_opts["settle_seconds"]:
                ready.append(path)
        for path in ready:
            signature = pending.pop(path)[0]  # type: ignore[index]
            if signature[0] > self.plugin_opts["max_size"]:
                log.warning(
                    "dirmon: %s is larger than max_size (%d bytes); not read", path, signature[0]
                )
                read[path] = signature
                continue
            try:
                content = path.read_bytes()
            except OSError as exc:
                log.warning("dirmon: cannot read %s: %s", path, exc)
                continue
            read[path] = signature
            meta = PayloadMeta(extra_data={"filename": path.name, "path": os.fspath(path)})
            self._put(queue, Payload(content, meta))

    def _put(self, queue: Queue, payload: Payload) -> None:
        """Wait for room on run mode's bounded queue, but never past ``stop()``."""
        while not self.stopping.is_set():
            try:
                queue.put(payload, timeout=0.2)
                return
            except queues.Full:
                continue
