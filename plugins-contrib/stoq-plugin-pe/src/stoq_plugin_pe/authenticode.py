"""Authenticode through LIEF: who signed the file, who vouched for them, and whether it verifies.

LIEF checks that the signed digest matches the file and that each signer's signature over it
is sound (``verify_signature``). It does not decide whether the certificate chain ends in a
root this machine trusts; that needs a trust store and a point in time, which are policy.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Optional

import lief

__all__ = ["signatures"]


def _date(parts: List[int]) -> str:
    """LIEF gives validity as [year, month, day, hour, minute, second] in UTC."""
    stamp = datetime.datetime(*parts[:6], tzinfo=datetime.timezone.utc)
    return stamp.isoformat()


def _certificate(cert: Any) -> Dict[str, Any]:
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": bytes(cert.serial_number).hex(),
        "not_before": _date(cert.valid_from),
        "not_after": _date(cert.valid_to),
    }


def _signature(signature: Any) -> Dict[str, Any]:
    signers = []
    for signer in signature.signers:
        cert = signer.cert
        signers.append(
            {
                "issuer": signer.issuer,
                "serial": bytes(signer.serial_number).hex(),
                "digest_algorithm": signer.digest_algorithm.name,
                "certificate": _certificate(cert) if cert is not None else None,
            }
        )
    return {
        "digest_algorithm": signature.digest_algorithm.name,
        "signers": signers,
        "certificates": [_certificate(cert) for cert in signature.certificates],
    }


def signatures(content: bytes) -> Optional[Dict[str, Any]]:
    """None for an unsigned file; otherwise the signatures and the verification verdict."""
    lief.logging.disable()
    binary = lief.PE.parse(content) if content else None
    if binary is None or not binary.has_signatures:
        return None
    verdict = binary.verify_signature()
    flags = [flag.name for flag in lief.PE.Signature.VERIFICATION_FLAGS if flag and verdict & flag]
    found = [_signature(s) for s in binary.signatures]
    first = next((signer for s in found for signer in s["signers"] if signer["certificate"]), None)
    return {
        "signer": first["certificate"]["subject"] if first else None,
        "issuer": first["issuer"] if first else None,
        "not_before": first["certificate"]["not_before"] if first else None,
        "not_after": first["certificate"]["not_after"] if first else None,
        "verifies": verdict == lief.PE.Signature.VERIFICATION_FLAGS.OK,
        "verification": flags or ["OK"],
        "signatures": found,
    }
