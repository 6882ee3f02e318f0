"""One certificate as plain JSON values."""

from __future__ import annotations

from typing import Any, Dict, List

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

__all__ = ["describe"]


def _key(cert: x509.Certificate) -> Dict[str, Any]:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        return {"type": "unsupported", "error": str(exc)}
    if isinstance(key, rsa.RSAPublicKey):
        return {"type": "RSA", "size": key.key_size}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"type": "EC", "size": key.key_size, "curve": key.curve.name}
    if isinstance(key, dsa.DSAPublicKey):
        return {"type": "DSA", "size": key.key_size}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"type": "Ed25519", "size": 256}
    if isinstance(key, ed448.Ed448PublicKey):
        return {"type": "Ed448", "size": 456}
    return {"type": type(key).__name__, "size": None}


def _sans(cert: x509.Certificate) -> Dict[str, List[str]]:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {}
    found = {
        "dns": names.get_values_for_type(x509.DNSName),
        "ip": [str(ip) for ip in names.get_values_for_type(x509.IPAddress)],
        "email": names.get_values_for_type(x509.RFC822Name),
        "uri": names.get_values_for_type(x509.UniformResourceIdentifier),
    }
    return {kind: values for kind, values in found.items() if values}


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _signed_by_own_key(cert: x509.Certificate) -> None:
    """Check the signature with the certificate's own key; InvalidSignature if it fails.

    Done by hand because ``verify_directly_issued_by`` refuses SHA-1, which most old roots use.
    """
    key, signature, signed = cert.public_key(), cert.signature, cert.tbs_certificate_bytes
    digest = cert.signature_hash_algorithm
    if isinstance(key, rsa.RSAPublicKey):
        pss = cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSASSA_PSS
        pad = padding.PSS(padding.MGF1(digest), padding.PSS.AUTO) if pss else padding.PKCS1v15()
        key.verify(signature, signed, pad, digest)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, signed, ec.ECDSA(digest))
    elif isinstance(key, dsa.DSAPublicKey):
        key.verify(signature, signed, digest)
    elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        key.verify(signature, signed)
    else:
        raise UnsupportedAlgorithm(f"cannot verify with a {type(key).__name__}")


def _self_signed(cert: x509.Certificate) -> bool:
    """Issued by itself and signed with its own key (the signature is checked, not assumed)."""
    if cert.issuer != cert.subject:
        return False
    try:
        _signed_by_own_key(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _signature_algorithm(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    return getattr(oid, "_name", None) or oid.dotted_string


def describe(cert: x509.Certificate, origin: str) -> Dict[str, Any]:
    """Subject, issuer, serial, validity, key, SANs, CA flag, self-signature, fingerprints."""
    try:
        extensions_error = None
        sans, is_ca = _sans(cert), _is_ca(cert)
    except ValueError as exc:  # a duplicate or malformed extension
        extensions_error, sans, is_ca = str(exc), {}, False
    return {
        "origin": origin,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "key": _key(cert),
        "signature_algorithm": _signature_algorithm(cert),
        "sans": sans,
        "is_ca": is_ca,
        "self_signed": _self_signed(cert),
        "sha1": cert.fingerprint(hashes.SHA1()).hex(),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "extensions_error": extensions_error,
    }
