"""Encrypted Office documents: recognised, and opened in memory with well-known passwords.

Excel opens a workbook encrypted with the password ``VelvetSweatshop`` without asking, so
malware encrypts with it to hide its macros from scanners while the victim sees nothing.
Trying the passwords Office itself applies reveals such documents.
"""

from __future__ import annotations

import io
import logging
from typing import List, Optional, Tuple

import msoffcrypto
import olefile

__all__ = ["DEFAULT_PASSWORDS", "decrypt", "is_encrypted"]

log = logging.getLogger(__name__)

#: Tried in order on an encrypted document: the passwords Office applies by itself, then the
#: trivial ones people choose when a password is demanded.
DEFAULT_PASSWORDS = (
    "VelvetSweatshop",  # Excel: a workbook "protected" without a password is encrypted with it
    "/01Hannes Ruescher/01",  # PowerPoint's counterpart (MS-PPT: the default encryption password)
    "123",
    "1234",
    "12345",
    "123456",
    "4321",
)
#: Streams of an OOXML document encrypted into an OLE container (MS-OFFCRYPTO).
ENCRYPTED_CONTAINER_STREAMS = ("EncryptionInfo", "EncryptedPackage")
#: PIDSI_DOC_SECURITY's "password protected" bit (MS-OLEPS).
SECURITY_PASSWORD = 0x01


def is_encrypted(content: bytes, ole: olefile.OleFileIO) -> bool:
    """msoffcrypto's verdict for the formats it knows (Word, Excel, PowerPoint 97-2003 and OOXML
    containers); for any other OLE file, whether it holds an encrypted OOXML package or its
    summary says it is password protected."""
    try:
        return bool(msoffcrypto.OfficeFile(io.BytesIO(content)).is_encrypted())
    except Exception:  # not a format msoffcrypto reads (MSI, .msg, a VBA project, damage)
        log.debug("ole: msoffcrypto cannot tell whether it is encrypted", exc_info=True)
    if any(ole.exists(name) for name in ENCRYPTED_CONTAINER_STREAMS):
        return True
    security = ole.get_metadata().security if ole.exists("\x05SummaryInformation") else None
    return isinstance(security, int) and bool(security & SECURITY_PASSWORD)


def decrypt(content: bytes, passwords: List[str]) -> Tuple[Optional[bytes], Optional[str]]:
    """``(plaintext, password)`` for the first password that decrypts, else ``(None, None)``."""
    for password in passwords:
        try:
            office = msoffcrypto.OfficeFile(io.BytesIO(content))
            office.load_key(password=password)
            plain = io.BytesIO()
            office.decrypt(plain)
        except Exception:  # a wrong password, or a format msoffcrypto cannot decrypt
            log.debug("ole: password %r does not decrypt", password, exc_info=True)
            continue
        return plain.getvalue(), password
    return None, None
