"""File access that cannot leave a root folder, and writes that are never seen half done.

Every path below a root is opened one component at a time, relative to its parent's
descriptor and with ``O_NOFOLLOW``, so a symbolic link (even one swapped in during a scan) is
never followed out. Writes go to a temporary file in the destination folder, are synced, and
are renamed over the final name: a reader sees no file or the whole file, never part of one.
"""

from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager, suppress
from typing import Iterator, List, Sequence

__all__ = ["atomic_write", "open_dir", "open_root", "open_under", "read_regular", "require_regular"]

DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
#: Non-blocking, because opening a FIFO for reading would otherwise wait for a writer.
READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL
FILE_MODE = 0o644
DIR_MODE = 0o755


def check_parts(parts: Sequence[str]) -> None:
    """Only plain names: no ``..``, ``.``, empty name, slash or NUL, so a path only goes down."""
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\0" in part:
            raise ValueError(f"refusing path component {part!r}")


@contextmanager
def open_root(path: str, create: bool = False) -> Iterator[int]:
    """A descriptor for a root folder (the root itself may be a link: the operator chose it)."""
    if create:
        os.makedirs(path, mode=DIR_MODE, exist_ok=True)
    fd = os.open(path, DIRECTORY_FLAGS)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def open_dir(root_fd: int, parts: Sequence[str], create: bool = False) -> Iterator[int]:
    """A descriptor for ``root/parts…``, refusing links; folders are made when ``create``."""
    check_parts(parts)
    opened: List[int] = []
    try:
        parent = root_fd
        for part in parts:
            if create:
                with suppress(FileExistsError):
                    os.mkdir(part, DIR_MODE, dir_fd=parent)
            parent = os.open(part, DIRECTORY_FLAGS | os.O_NOFOLLOW, dir_fd=parent)
            opened.append(parent)
        yield parent
    finally:
        for fd in reversed(opened):
            os.close(fd)


@contextmanager
def open_under(root_fd: int, parts: Sequence[str]) -> Iterator[int]:
    """Open the file ``root/parts…`` for reading without following any link on the way."""
    check_parts(parts[-1:])
    with open_dir(root_fd, parts[:-1]) as parent:
        fd = os.open(parts[-1], READ_FLAGS | os.O_NOFOLLOW, dir_fd=parent)
        try:
            yield fd
        finally:
            os.close(fd)


def require_regular(fd: int) -> None:
    """Refuse an open folder, FIFO, device or socket: only a regular file is read."""
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError("is a folder")
    if not stat.S_ISREG(mode):
        raise OSError(f"not a regular file ({stat.filemode(mode)})")


def read_regular(fd: int) -> bytes:
    """The whole content of an open regular file; a FIFO, device or socket is refused."""
    require_regular(fd)
    with os.fdopen(fd, "rb", closefd=False) as handle:
        return handle.read()


def atomic_write(root_fd: int, parts: Sequence[str], data: bytes) -> None:
    """Write ``data`` to ``root/parts…`` through a synced temporary file and a rename."""
    check_parts(parts[-1:])
    name = parts[-1]
    with open_dir(root_fd, parts[:-1], create=True) as folder:
        temporary = f".{name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(temporary, WRITE_FLAGS | os.O_NOFOLLOW, FILE_MODE, dir_fd=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=folder)
            raise
        os.fsync(folder)
