"""The provider's listing: regular files under a folder, never reached through a link out.

A symbolic link is followed only when its target resolves inside the folder, and the target
is then opened component by component from the folder's descriptor, so the check cannot be
raced. Links to folders are not descended (their files are inside the folder and are found
directly when ``recursive`` is on). FIFOs, devices and sockets are skipped: reading them could
block or never end. Every skip is logged with its reason.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Collection, FrozenSet, Iterator, List, Optional

from .fs import open_dir, open_root, open_under, read_regular

__all__ = ["SourceFile", "iter_source"]

log = logging.getLogger("stoq.filedir")


@dataclass(frozen=True)
class SourceFile:
    """One file to scan: its name, the path it was listed under, and its bytes."""

    filename: str
    path: str
    content: bytes


def iter_source(
    source: str, recursive: bool, exclude: Collection[str] = ()
) -> Iterator[SourceFile]:
    """The file ``source``, or the files in folder ``source`` in name order.

    Folders in ``exclude`` (the plugin's own archive and results folders) are not descended,
    so a run never scans what it writes.
    """
    if not os.path.exists(source):
        raise FileNotFoundError(f"filedir: source {source!r} does not exist")
    display_root = os.path.abspath(source)
    if not os.path.isdir(source):
        folder, name = os.path.split(os.path.realpath(source))
        with open_root(folder) as fd, open_under(fd, [name]) as file_fd:
            yield SourceFile(name, display_root, read_regular(file_fd))
        return
    real_root = os.path.realpath(source)
    skip = frozenset(os.path.realpath(folder) for folder in exclude if folder)
    with open_root(source) as root_fd:
        yield from _walk(root_fd, real_root, display_root, [], recursive, skip)


def _walk(
    root_fd: int,
    real_root: str,
    display_root: str,
    parts: List[str],
    recursive: bool,
    skip: FrozenSet[str],
) -> Iterator[SourceFile]:
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
                continue
            found = _read(root_fd, target, shown)
        elif entry.is_dir(follow_symlinks=False):
            if os.path.join(real_root, *rel) in skip:
                log.info("filedir: skipped %s: it is this plugin's own output folder", shown)
            elif recursive:
                yield from _walk(root_fd, real_root, display_root, rel, recursive, skip)
            continue
        else:
            found = _read(root_fd, rel, shown)
        if found is not None:
            yield SourceFile(entry.name, shown, found)


def _link_target_parts(real_root: str, link: str) -> Optional[List[str]]:
    """The target of ``link`` as names below the root, or None when it points elsewhere."""
    target = os.path.realpath(link)
    if os.path.commonpath([real_root, target]) != real_root or target == real_root:
        return None
    return os.path.relpath(target, real_root).split(os.sep)


def _read(root_fd: int, parts: List[str], shown: str) -> Optional[bytes]:
    try:
        with open_under(root_fd, parts) as fd:
            return read_regular(fd)
    except IsADirectoryError:
        log.info("filedir: skipped %s: link to a folder", shown)
    except OSError as exc:
        log.warning("filedir: skipped %s: %s", shown, exc)
    return None
