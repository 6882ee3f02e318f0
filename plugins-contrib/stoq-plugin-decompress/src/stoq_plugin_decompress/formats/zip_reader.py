"""Zip members, stored, deflated, bzip2 or LZMA, plain or encrypted (ZipCrypto and AES)."""

from __future__ import annotations

import io
import zipfile
from typing import Any, Iterator, Optional

from ..extraction import Extraction, describe
from ..limits import CHUNK_SIZE, StopExtraction

__all__ = ["extract"]

ENCRYPTED_FLAG = 0x1
NO_PASSWORD = (
    "encrypted and no password was given (option 'passwords', or 'password'/'passwords'"
    " in the payload's or the request's extra_data)"
)


def _read(archive: Any, info: Any, password: Optional[str], x: Extraction, **meta: Any) -> None:
    pwd = password.encode("utf-8") if password is not None else None
    with archive.open(info, pwd=pwd) as member:
        x.take(info.filename, _chunks(member), **meta)


def _chunks(member: Any) -> Iterator[bytes]:
    """A member's chunks. ``ZipExtFile.read(n)`` returns fewer than ``n`` bytes only at the
    end, its CRC checked, so a short chunk is the last: no read of ``b""`` per member."""
    while True:
        chunk = member.read(CHUNK_SIZE)
        if chunk:
            yield chunk
        if len(chunk) < CHUNK_SIZE:
            return


def _read_encrypted(archive: Any, info: Any, x: Extraction) -> None:
    """Try each password; a wrong one fails the check byte, the AES verifier or the CRC."""
    if not x.passwords:
        x.member_error(info.filename, NO_PASSWORD, encrypted=True)
        return
    last: Optional[Exception] = None
    for password in x.passwords:
        try:
            _read(archive, info, password, x, encrypted=True)
            return
        except StopExtraction:
            raise
        except Exception as exc:  # noqa: BLE001 - pyzipper/zlib raise several types for a wrong key
            last = exc
    tried = len(x.passwords)
    x.member_error(
        info.filename,
        f"wrong password (tried {tried} password{'s' if tried > 1 else ''}): {describe(last)}",
        encrypted=True,
    )


def extract(data: bytes, x: Extraction) -> None:
    """Every member of a zip, in central-directory order; names are metadata only."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if any(info.flag_bits & ENCRYPTED_FLAG for info in archive.infolist()):
            archive.close()  # the standard library reads no AES: pyzipper does, a little slower
            import pyzipper  # only here: its import (Cryptodome, cffi) took ~44 ms

            x.reader = "pyzipper"  # the results name the library that reads the members
            archive = pyzipper.AESZipFile(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - zipfile raises BadZipFile, OSError, ValueError, EOFError...
        x.fail(f"cannot be opened: {describe(exc)}")
        return
    with archive:
        for info in archive.infolist():
            try:
                _member(archive, info, x)
            except StopExtraction:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad member must never hide the others
                x.member_error(info.filename, f"corrupt: {describe(exc)}")


def _member(archive: Any, info: Any, x: Extraction) -> None:
    """One member: listed (a folder), read (with passwords if encrypted) or skipped by a limit."""
    if info.filename.endswith("/"):  # not is_dir(): that fails on an empty name
        x.listed(info.filename, type="directory")
        return
    x.admit()
    encrypted = bool(info.flag_bits & ENCRYPTED_FLAG)
    meta = {"encrypted": True} if encrypted else {}
    if not info.filename:
        x.errors.append("zip member with an empty name: extracted without a filename")
        meta["empty_name"] = True
    if x.too_large(info.filename, info.file_size, **meta):
        return
    if encrypted:
        _read_encrypted(archive, info, x)
    else:
        _read(archive, info, None, x, **meta)
