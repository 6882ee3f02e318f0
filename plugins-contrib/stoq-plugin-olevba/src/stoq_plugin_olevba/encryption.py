"""Whether an OLE document is encrypted, so its macros cannot be seen without the password.

msoffcrypto-tool (MIT) knows Word, Excel and PowerPoint 97-2003 encryption and OOXML packages
encrypted into an OLE container; for any other OLE file (a bare ``vbaProject.bin``, damage)
the container's own streams tell.
"""

from __future__ import annotations

import logging
from io import BytesIO

import msoffcrypto
import olefile

__all__ = ["is_encrypted"]

log = logging.getLogger(__name__)

#: Streams of an OOXML document encrypted into an OLE container (MS-OFFCRYPTO).
ENCRYPTED_PACKAGE_STREAMS = ("EncryptionInfo", "EncryptedPackage")


def is_encrypted(content: bytes, ole: olefile.OleFileIO) -> bool:
    """msoffcrypto's verdict where it has one, else whether an encrypted package is stored."""
    try:
        return bool(msoffcrypto.OfficeFile(BytesIO(content)).is_encrypted())
    except Exception:  # a format msoffcrypto does not read, or damage it trips on
        log.debug("olevba: msoffcrypto cannot tell whether it is encrypted", exc_info=True)
    return any(ole.exists(name) for name in ENCRYPTED_PACKAGE_STREAMS)
