"""The ``iocs`` stoQ plugin: indicators of compromise in text, defanged or not."""

from __future__ import annotations

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .patterns import KINDS, find, find_hashes, public_domain, refang

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Dict, List, Optional

__all__ = ["IocsPlugin"]

#: The kinds a defanged spelling can hide.
_DEFANGABLE = ("urls", "domains", "emails", "ipv4")


def _text(content: bytes) -> str:
    """UTF-16 with a byte-order mark, else UTF-8 (undecodable bytes replaced)."""
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return content.decode("utf-16", "replace")
    return content.decode("utf-8", "replace")


def indicators(content: bytes, max_bytes: int, limit: int) -> Dict[str, Any]:
    """The plugin's results for ``content`` (only its first ``max_bytes`` read)."""
    raw = _text(content[:max_bytes])
    text = refang(raw)
    results: Dict[str, Any] = {}
    skipped: List[str] = []
    found = {kind: find(text, kind, limit) for kind in KINDS}
    found.update(find_hashes(text, limit))
    for kind, (values, total) in found.items():
        if kind == "domains":
            values = _with_url_hosts(values, results.get("urls", []), limit)
        results[kind] = values
        if total > len(values) and total > limit:
            skipped.append(f"{total - limit} more {kind} beyond max_per_kind ({limit})")
    if text != raw:
        written = {v for kind in _DEFANGABLE for v in find(raw, kind, limit)[0]}
        found_values = {v for kind in _DEFANGABLE for v in results[kind]}
        results["defanged"] = sorted(found_values - written)
    else:
        results["defanged"] = []
    if len(content) > max_bytes:
        skipped.append(f"{len(content) - max_bytes} bytes beyond max_bytes ({max_bytes}) not read")
    if skipped:
        results["skipped"] = skipped
    return results


def _with_url_hosts(domains: List[str], urls: List[str], limit: int) -> List[str]:
    """Domains found alone, then the hosts of URLs (written as ``http://host``)."""
    merged = dict.fromkeys(domains)
    if urls:  # imported when needed: with ipaddress, ~4 % of a small ``stoq scan`` that has none
        from urllib.parse import urlsplit
    for url in urls:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            continue
        if host and public_domain(host):
            merged.setdefault(host, None)
    return list(merged)[:limit]


class IocsPlugin(WorkerPlugin):
    """Reports URLs, domains, IPv4/IPv6 addresses, email addresses and hashes in a payload.

    Defanged forms (``hxxp``, ``[.]``, ``[@]`` ...) are refanged first; indicators seen only
    in a defanged form are listed in ``defanged``. Domains are kept only when their suffix is
    on the public suffix list shipped with the ``publicsuffixlist`` package, which keeps file
    names such as ``report.exe`` out. Only the first ``max_bytes`` are read.
    """

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {"max_bytes": 4 * 1024 * 1024, "max_per_kind": 1000}

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse(
            indicators(
                payload.content,
                int(self.plugin_opts["max_bytes"]),
                int(self.plugin_opts["max_per_kind"]),
            )
        )
