"""The pre-optimisation reference: the ``iocs`` plugin's patterns and scan logic as they were
before issue 15 made them fast (commit cc08126), kept only so ``test_reference.py`` can check
that the optimised plugin reports exactly what this one does. Not used by the plugin itself.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Pattern, Tuple
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList


@functools.cache
def _psl() -> PublicSuffixList:
    """The shipped public suffix list (no download at run time), parsed on first use: parsing
    takes ~60 ms, and text without a dotted name never needs it."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


#: Defanged spellings (one pass, one alternative each) and what each stands for.
_DEFANG = re.compile(
    r"\b(?P<http>hxxp)(?=s?\b)|\b(?P<ftp>fxp)\b"
    r"|(?P<dot>\[(?:\.|dot)\]|\((?:\.|dot)\)|\{(?:\.|dot)\})"
    r"|(?P<scheme>\[://\])|(?P<colon>\[(?::|colon)\])|(?P<at>\[(?:@|at)\]|\((?:@|at)\))",
    re.IGNORECASE,
)
_FANGED = {"http": "http", "ftp": "ftp", "dot": ".", "scheme": "://", "colon": ":", "at": "@"}

_LABEL = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
_DOMAIN = rf"(?:{_LABEL}\.)+[a-z][a-z0-9-]{{1,62}}"
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_DOMAIN_RE = re.compile(rf"(?<![\w.@-]){_DOMAIN}(?![\w-])", re.IGNORECASE)
_EMAIL = re.compile(rf"\b[a-z0-9._%+-]{{1,64}}@{_DOMAIN}\b", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6 = re.compile(
    r"(?<![0-9a-f:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![0-9a-f:])", re.IGNORECASE
)
#: Every run of 32 or more hex digits, in one pass; its length says which hash it can be.
_HEX_RUN = re.compile(r"[0-9a-f]{32,}", re.IGNORECASE)
_HEX_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


def refang(text: str) -> str:
    """``hxxp://evil[.]com`` → ``http://evil.com``."""
    # Every defanged spelling holds a bracket or hxxp/fxp: without them the pass (a third of
    # the plugin's time on plain text) cannot change anything.
    if not any(c in text for c in "[({") and "xp" not in text.lower():
        return text
    return _DEFANG.sub(lambda m: _FANGED[m.lastgroup or ""], text)


def public_domain(candidate: str) -> Optional[str]:
    """The domain in lower case if its suffix is on the public suffix list (not a file name)."""
    domain = candidate.lower().rstrip(".")
    return domain if _psl().privatesuffix(domain, accept_unknown=False) else None


def _url(candidate: str) -> Optional[str]:
    return candidate.rstrip(".,;:!?)]}'\"")


def _email(candidate: str) -> Optional[str]:
    local, _, domain = candidate.rpartition("@")
    return f"{local}@{domain.lower()}" if public_domain(domain) else None


def _ip(version: int) -> Callable[[str], Optional[str]]:
    def check(candidate: str) -> Optional[str]:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            return None
        return str(address) if address.version == version else None

    return check


def _hexdigest(candidate: str) -> Optional[str]:
    # A run of one repeated character (zeros, padding) is not a hash.
    return candidate.lower() if len(set(candidate.lower())) > 2 else None


KINDS: Dict[str, Tuple[Pattern[str], Callable[[str], Optional[str]]]] = {
    "urls": (_URL, _url),
    "domains": (_DOMAIN_RE, public_domain),
    "emails": (_EMAIL, _email),
    "ipv4": (_IPV4, _ip(4)),
    "ipv6": (_IPV6, _ip(6)),
}
HASHES = tuple(_HEX_LENGTHS.values())


def _distinct(values: Iterable[Optional[str]], limit: int) -> Tuple[List[str], int]:
    # Not pre-optimisation: the count fix applied, so the comparison is of the search alone.
    found: Dict[str, None] = {}
    seen = set()  # every distinct value, kept or past the limit: each is counted once
    for value in values:
        if value is None or value in seen:
            continue
        seen.add(value)
        if len(found) < limit:
            found[value] = None
    return list(found), len(seen)


def find(text: str, kind: str, limit: int) -> Tuple[List[str], int]:
    """Distinct indicators of ``kind`` in order of appearance (at most ``limit``), and the total."""
    pattern, check = KINDS[kind]
    return _distinct((check(m.group(0)) for m in pattern.finditer(text)), limit)


def find_hashes(text: str, limit: int) -> Dict[str, Tuple[List[str], int]]:
    """MD5, SHA-1, SHA-256 and SHA-512 digests: hex runs of exactly those lengths."""
    runs: Dict[str, List[Optional[str]]] = {name: [] for name in HASHES}
    for match in _HEX_RUN.finditer(text):
        name = _HEX_LENGTHS.get(len(match.group(0)))
        if name is not None:
            runs[name].append(_hexdigest(match.group(0)))
    return {name: _distinct(values, limit) for name, values in runs.items()}


#: The kinds a defanged spelling can hide.
_DEFANGABLE = ("urls", "domains", "emails", "ipv4")


def _text(content: bytes) -> str:
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return content.decode("utf-16", "replace")
    return content.decode("utf-8", "replace")


def indicators(content: bytes, max_bytes: int, limit: int) -> Dict[str, Any]:
    """What ``IocsPlugin.scan`` returned, as the plugin's results."""
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
    merged = dict.fromkeys(domains)
    for url in urls:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            continue
        if host and public_domain(host):
            merged.setdefault(host, None)
    return list(merged)[:limit]
