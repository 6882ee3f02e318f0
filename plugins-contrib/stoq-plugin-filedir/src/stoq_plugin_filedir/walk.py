"""The provider's listing: regular files under a folder, never reached through a link out.

A symbolic link is followed only when its target resolves inside the folder, and the target
is then opened component by component from the folder's descriptor, so the check cannot be
raced. Links to folders are not descended (their files are inside the folder and are found
directly when ``recursive`` is on). FIFOs, devices and sockets are skipped: reading them could
block or never end. Every skip is logged with its reason.

The listing reads no file: each is queued as a ``SourceFile``, which the consumer process
scanning it reads (run mode's parent never holds the files' bytes, nor copies them to the
consumers), opened the same way, from the folder down without following links.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import Collection, FrozenSet, Iterator, List, Optional, Tuple

from stoq.data_classes import Payload, PayloadMeta
from stoq.plugins import DeferredPayload

from .fs import open_dir, open_root, open_under, read_regular, require_regular

__all__ = ["SourceFile", "iter_source"]

log = logging.getLogger("stoq.filedir")


class SourceFile(DeferredPayload):
    """One file to scan: the folder it was listed in, its names below that folder, its name
    and the path it was listed under. ``load`` reads it where it is scanned."""

    def __init__(self, root: str, parts: List[str], filename: str, path: str, plugin: str):
        self.root = root
        self.parts = parts
        self.filename = filename
        self.path = path
        self.plugin_name = plugin

    def read(self) -> bytes:
        """The file's bytes, opened from ``root`` without following a link on the way; a file
        that became a FIFO, device or folder since it was listed is refused."""
        with open_root(self.root) as root_fd, open_under(root_fd, self.parts) as fd:
            return read_regular(fd)

    def load(self) -> Payload:
        meta = PayloadMeta(extra_data={"filename": self.filename, "path": self.path})
        return Payload(self.read(), meta)


def iter_source(
    source: str, recursive: bool, exclude: Collection[str] = (), plugin: str = "filedir"
) -> Iterator[SourceFile]:
    """The file ``source``, or the files in folder ``source`` in name order.

    Folders in ``exclude`` (the plugin's own archive and results folders) are not descended,
    so a run never scans what it writes. ``plugin`` names the provider in the items' errors.
    """
    if not os.path.exists(source):
        raise FileNotFoundError(f"filedir: source {source!r} does not exist")
    display_root = os.path.abspath(source)
    if not os.path.isdir(source):
        folder, name = os.path.split(os.path.realpath(source))
        with open_root(folder) as fd, open_under(fd, [name]) as file_fd:
            require_regular(file_fd)
        yield SourceFile(folder, [name], name, display_root, plugin)
        return
    real_root = os.path.realpath(source)
    skip = frozenset(os.path.realpath(folder) for folder in exclude if folder)
    with open_root(source) as root_fd:
        found = _walk(root_fd, real_root, display_root, [], recursive, skip)
        for parts, filename, shown in found:
            yield SourceFile(display_root, parts, filename, shown, plugin)


def _walk(
    root_fd: int,
    real_root: str,
    display_root: str,
    parts: List[str],
    recursive: bool,
    skip: FrozenSet[str],
) -> Iterator[Tuple[List[str], str, str]]:
    """``(names below the root to open, file name, path shown)`` of each file to scan."""
    try:
        with open_dir(root_fd, parts) as dir_fd, os.scandir(dir_fd) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        if not parts:
            raise
        log.warning("filedir: skipped folder %s: %s", os.path.join(display_root, *parts), exc)
        return
    for entry in entries:
        rel = [*parts, entry.name]
        shown = os.path.join(display_root, *rel)
        if entry.is_symlink():
            target = _link_target_parts(real_root, os.path.join(real_root, *rel))
            if target is None:
                log.warning("filedir: skipped %s: symbolic link to outside %s", shown, display_root)
            elif _link_to_file(root_fd, target, shown):
                yield target, entry.name, shown
        elif entry.is_dir(follow_symlinks=False):
            if os.path.join(real_root, *rel) in skip:
                log.info("filedir: skipped %s: it is this plugin's own output folder", shown)
            elif recursive:
                yield from _walk(root_fd, real_root, display_root, rel, recursive, skip)
        elif entry.is_file(follow_symlinks=False):
            yield rel, entry.name, shown
        else:
            mode = stat.filemode(entry.stat(follow_symlinks=False).st_mode)
            log.warning("filedir: skipped %s: not a regular file (%s)", shown, mode)


def _link_target_parts(real_root: str, link: str) -> Optional[List[str]]:
    """The target of ``link`` as names below the root, or None when it points elsewhere."""
    target = os.path.realpath(link)
    if os.path.commonpath([real_root, target]) != real_root or target == real_root:
        return None
    return os.path.relpath(target, real_root).split(os.sep)


def _link_to_file(root_fd: int, parts: List[str], shown: str) -> bool:
    """Whether a link's target (inside the folder) is a regular file; skips are logged."""
    try:
        with open_under(root_fd, parts) as fd:
            require_regular(fd)
        return True
    except IsADirectoryError:
        log.info("filedir: skipped %s: link to a folder", shown)
    except OSError as exc:
        log.warning("filedir: skipped %s: %s", shown, exc)
    return False
