"""stoQ plugin ``x509``: X.509 certificates in PEM, DER and PKCS#7: subject, issuer, validity, key, SANs."""

from .plugin import X509Plugin

__all__ = ["X509Plugin"]
