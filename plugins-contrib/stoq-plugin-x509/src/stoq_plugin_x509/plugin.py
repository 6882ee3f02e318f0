"""The ``x509`` worker: every certificate in a payload (PEM, DER, PKCS#7), described."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Dict, List, Optional

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .describe import describe
from .load import load_certificates

__all__ = ["X509Plugin"]


class X509Plugin(WorkerPlugin):
    """Subject, issuer, serial, validity, key, SANs, CA flag and self-signature of each certificate.

    Content with no certificate in it gives ``None``; a block that claims to be one and is not
    (a damaged PEM block, a DER structure that does not parse) gives an error naming it, and
    the other certificates are still reported.
    """

    #: Typed defaults; a config file's [plugins.x509] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_certificates": 500,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        errors: List[str] = []
        limit = self.plugin_opts["max_certificates"]
        with warnings.catch_warnings(record=True) as caught:
            # cryptography warns about what RFC 5280 forbids (a negative serial, ...): findings.
            warnings.simplefilter("always")
            found = load_certificates(payload.content, errors)
            described = []
            for number, (origin, cert) in enumerate(found[:limit], 1):
                try:
                    described.append(describe(cert, origin))
                except ValueError as exc:  # parsed lazily: a bad name shows up only now
                    errors.append(f"certificate {number}: {exc}")
        if not found and not errors:
            return None
        results = {
            "count": len(found),
            "not_listed": max(0, len(found) - limit),
            "certificates": described,
            "warnings": sorted({str(w.message) for w in caught}),
        }
        return WorkerResponse(results, errors=errors)
