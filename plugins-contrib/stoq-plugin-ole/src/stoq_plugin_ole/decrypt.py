"""Encrypted Office documents opened with well-known passwords, in memory.

Excel opens a workbook encrypted with the password ``VelvetSweatshop`` without asking, so
malware encrypts with it to hide its macros from scanners while the victim sees nothing. Trying
the passwords Office itself uses (oletools' list) reveals such documents.
"""

from __future__ import annotations

import io
import logging
from typing import List, Optional, Tuple

import msoffcrypto

__all__ = ["decrypt"]

log = logging.getLogger(__name__)


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
