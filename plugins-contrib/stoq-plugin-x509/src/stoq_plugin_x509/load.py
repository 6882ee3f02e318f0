"""Finding certificates: PEM blocks anywhere in the payload, else the payload as DER."""

from __future__ import annotations

import re
from typing import List, Tuple

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import pkcs7

__all__ = ["load_certificates"]

_PEM = re.compile(
    rb"-----BEGIN (CERTIFICATE|TRUSTED CERTIFICATE|X509 CERTIFICATE|PKCS7)-----"
    rb".{0,1048576}?-----END \1-----",
    re.DOTALL,
)
#: What cryptography raises for content that is not the structure it was asked to read.
_UNREADABLE = (ValueError, UnsupportedAlgorithm, x509.InvalidVersion)
#: DER starts with a SEQUENCE; anything else is not worth an error when it does not parse.
_SEQUENCE = 0x30

Found = List[Tuple[str, x509.Certificate]]


def _pem(block: bytes, kind: bytes) -> Found:
    if kind == b"PKCS7":
        return [("pem pkcs7", c) for c in pkcs7.load_pem_pkcs7_certificates(block)]
    if kind != b"CERTIFICATE":
        # OpenSSL's TRUSTED CERTIFICATE (trust settings appended) and the old X509 label: the
        # DER inside starts with the certificate; cryptography reads the standard label only.
        block = re.sub(rb"(BEGIN|END) [A-Z0-9 ]+-----", rb"\1 CERTIFICATE-----", block)
    return [("pem", x509.load_pem_x509_certificate(block))]


def _der(content: bytes) -> Found:
    try:
        return [("der", x509.load_der_x509_certificate(content))]
    except _UNREADABLE:
        return [("der pkcs7", c) for c in pkcs7.load_der_pkcs7_certificates(content)]


def load_certificates(content: bytes, errors: List[str]) -> Found:
    """Every certificate found, with where it came from; a block that fails adds an error."""
    found: Found = []
    blocks = list(_PEM.finditer(content))
    for number, match in enumerate(blocks, 1):
        try:
            found += _pem(match.group(0), match.group(1))
        except _UNREADABLE as exc:
            errors.append(f"PEM block {number} at offset {match.start()}: {exc}")
    if not blocks and content[:1] == bytes([_SEQUENCE]):
        try:
            found += _der(content)
        except _UNREADABLE as exc:
            errors.append(f"not a DER certificate or PKCS#7 bundle: {exc}")
    return found
