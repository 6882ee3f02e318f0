"""rar, cab, ISO 9660, cpio and ar (and a second try at zip and 7z) through libarchive.

libarchive is optional: libarchive-c needs the system library. When it is missing, formats
that need it say so in their results instead of failing to load the whole plugin.
"""

from __future__ import annotations

from typing import Optional

from ..extraction import Extraction, describe
from ..limits import CHUNK_SIZE, StopExtraction

try:
    import libarchive
except Exception as exc:  # noqa: BLE001 - ImportError, or OSError/AttributeError when the C library is absent
    libarchive = None
    UNAVAILABLE: Optional[str] = f"libarchive not available ({describe(exc)})"
else:
    UNAVAILABLE = None

__all__ = ["UNAVAILABLE", "available", "extract"]

_PASSWORD_WORDS = ("passphrase", "password", "decrypt", "encrypt")


def _describe(exc: Exception) -> str:
    """ArchiveError's text without the pointer and codes, which differ on every run."""
    message = getattr(exc, "msg", None)
    return f"{type(exc).__name__}: {message}" if message else describe(exc)


def available() -> bool:
    return libarchive is not None


def _kind(entry: object) -> str:
    if getattr(entry, "isdir", False):
        return "directory"
    if getattr(entry, "issym", False):
        return "symlink"
    if getattr(entry, "islnk", False):
        return "hardlink"
    return "special"


def _attempt(data: bytes, password: Optional[str], x: Extraction) -> None:
    with libarchive.memory_reader(data, passphrase=password) as archive:
        for entry in archive:
            if not entry.isreg:
                x.listed(entry.pathname, type=_kind(entry))
                continue
            x.admit()
            if x.too_large(entry.pathname, entry.size if entry.size else None):
                continue
            x.take(entry.pathname, entry.get_blocks(CHUNK_SIZE))


def extract(data: bytes, x: Extraction) -> None:
    """Every entry in archive order; a password error retries with each password."""
    if libarchive is None:
        x.fail(f"{UNAVAILABLE}; install the libarchive system library to read {x.format}")
        return
    try:
        _attempt(data, None, x)
        return
    except StopExtraction:
        raise
    except Exception as exc:  # noqa: BLE001 - ArchiveError, or ctypes errors on hostile input
        first = exc
    if not any(word in str(first).lower() for word in _PASSWORD_WORDS) or not x.passwords:
        done = f"after {len(x.members)} members" if x.members else "cannot be read"
        x.fail(
            f"truncated or corrupt {done}: {_describe(first)}"
            if x.members
            else f"{done}: {_describe(first)}"
        )
        return
    for password in x.passwords:
        x.restart()
        try:
            _attempt(data, password, x)
            return
        except StopExtraction:
            raise
        except Exception as exc:  # noqa: BLE001 - the next password may work
            first = exc
    x.fail(f"wrong password (tried {len(x.passwords)}): {_describe(first)}", final=True)
