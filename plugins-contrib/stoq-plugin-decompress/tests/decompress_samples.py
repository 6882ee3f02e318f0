"""Archives for the decompress tests, generated with real libraries (and two format writers).

zipfile, tarfile, gzip, bz2, lzma, py7zr, pyzipper and libarchive write almost everything.
Two formats have no writer on a stock machine, so they are written here to their published
layouts: a ZipCrypto-encrypted zip (PKWARE APPNOTE 6.1) and a cabinet (MS-CAB, no compression).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import struct
import tarfile
import zipfile
import zlib
from typing import Dict, Iterable, List, Optional, Tuple

import libarchive
import py7zr
import pyzipper

Members = Dict[str, bytes]


def zip_archive(members: Members, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def aes_zip(members: Members, password: str) -> bytes:
    """WinZip AES-256 encrypted zip, written by pyzipper."""
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode())
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# -- ZipCrypto (traditional PKWARE encryption) ------------------------------------------


def _crc_table() -> List[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


class _ZipCryptoKeys:
    def __init__(self, password: bytes) -> None:
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self.update(byte)

    def _crc(self, crc: int, byte: int) -> int:
        return (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]

    def update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = self._crc(k0, byte)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = self._crc(k2, k1 >> 24)
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self.update(byte)
        return bytes(out)


def zipcrypto_zip(members: Members, password: str, encrypted: Iterable[str] = ()) -> bytes:
    """Stored members; those named in ``encrypted`` (default: all) use ZipCrypto."""
    encrypt_names = set(encrypted) or set(members)
    body, central = bytearray(), bytearray()
    for name, data in members.items():
        raw_name = name.encode()
        crc = zlib.crc32(data)
        flags, payload = 0, data
        if name in encrypt_names:
            flags = 1
            header = os.urandom(11) + bytes([crc >> 24])
            payload = _ZipCryptoKeys(password.encode()).encrypt(header + data)
        offset = len(body)
        fields = (20, flags, 0, 0, 0x21, crc, len(payload), len(data), len(raw_name), 0)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + raw_name + payload
        central += struct.pack("<IH", 0x02014B50, 20) + struct.pack("<HHHHHIIIHH", *fields)
        central += struct.pack("<HHHII", 0, 0, 0, 0, offset) + raw_name
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0
    )
    return bytes(body + central + end)


# -- tar, streams, 7z, libarchive, cab --------------------------------------------------


def tar_archive(
    members: Members,
    compression: str = "",
    links: Optional[Dict[str, str]] = None,
    dirs: Iterable[str] = (),
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def gzip_named(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buffer, mtime=0) as stream:
        stream.write(data)
    return buffer.getvalue()


STREAMS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
}


def sevenzip(
    members: Members, password: Optional[str] = None, header_encryption: bool = False
) -> bytes:
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(
        buffer, "w", password=password, header_encryption=header_encryption
    ) as archive:
        for name, data in members.items():
            archive.writestr(data, name)
    return buffer.getvalue()


def libarchive_archive(format_name: str, members: Members) -> bytes:
    """An archive written by libarchive (cpio_newc, ar_svr4, iso9660, 7zip, zip...)."""
    buffer = bytearray()

    def write(block: bytes) -> int:
        buffer.extend(block)
        return len(block)

    with libarchive.custom_writer(write, format_name) as writer:
        for name, data in members.items():
            writer.add_file_from_memory(name, len(data), data)
    return bytes(buffer)


def cabinet(members: Members) -> bytes:
    """An uncompressed cabinet: one folder whose data is cut into 32 KiB CFDATA blocks."""
    files: List[Tuple[bytes, bytes]] = [(n.encode() + b"\x00", d) for n, d in members.items()]
    stream = b"".join(d for _, d in files)
    chunks = [stream[i : i + 0x8000] for i in range(0, len(stream), 0x8000)] or [b""]
    header_size, folder_size = 36, 8
    data_start = header_size + folder_size + sum(16 + len(name) for name, _ in files)
    blocks = b"".join(struct.pack("<IHH", 0, len(c), len(c)) + c for c in chunks)
    out = bytearray(
        b"MSCF"
        + struct.pack("<IIIII", 0, data_start + len(blocks), 0, header_size + folder_size, 0)
    )
    out += struct.pack("<BBHHHHH", 3, 1, 1, len(files), 0, 0x1234, 0)
    out += struct.pack("<IHH", data_start, len(chunks), 0)
    offset = 0
    for name, data in files:
        out += struct.pack("<IIHHHH", len(data), offset, 0, 0x21, 0, 0x20) + name
        offset += len(data)
    return bytes(out + blocks)


def nested_zips(levels: int, innermost: bytes = b"the bottom\n") -> bytes:
    """A zip in a zip ... ``levels`` deep, the innermost holding a text file."""
    data = zip_archive({"bottom.txt": innermost})
    for level in range(levels - 1, 0, -1):
        data = zip_archive({f"level{level}.zip": data})
    return data
