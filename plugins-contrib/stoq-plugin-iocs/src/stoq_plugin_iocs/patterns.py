"""Finding indicators in text: refanging, the patterns, and checks that drop look-alikes."""

from __future__ import annotations

import ipaddress
import re
from typing import Callable, Dict, List, Optional, Pattern, Tuple

from publicsuffixlist import PublicSuffixList

__all__ = ["KINDS", "find", "public_domain", "refang"]

#: The shipped public suffix list (from the publicsuffixlist package: no download at run time).
_PSL = PublicSuffixList()

#: Defanged spellings and what they stand for; applied before matching.
_DEFANGS: List[Tuple[Pattern[str], str]] = [
    (re.compile(r"\bhxxp(s?)\b", re.IGNORECASE), r"http\1"),
    (re.compile(r"\bfxp\b", re.IGNORECASE), "ftp"),
    (re.compile(r"\[(?:\.|dot)\]|\((?:\.|dot)\)|\{(?:\.|dot)\}", re.IGNORECASE), "."),
    (re.compile(r"\[(?::|colon)\]", re.IGNORECASE), ":"),
    (re.compile(r"\[://\]"), "://"),
    (re.compile(r"\[(?:@|at)\]|\((?:@|at)\)", re.IGNORECASE), "@"),
]

_LABEL = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
_DOMAIN = rf"(?:{_LABEL}\.)+[a-z][a-z0-9-]{{1,62}}"
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_DOMAIN_RE = re.compile(rf"(?<![\w.@-]){_DOMAIN}(?![\w-])", re.IGNORECASE)
_EMAIL = re.compile(rf"\b[a-z0-9._%+-]{{1,64}}@{_DOMAIN}\b", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6 = re.compile(
    r"(?<![0-9a-f:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![0-9a-f:])", re.IGNORECASE
)
_HEX = {
    "md5": re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", re.IGNORECASE),
    "sha1": re.compile(r"(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])", re.IGNORECASE),
    "sha256": re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])", re.IGNORECASE),
    "sha512": re.compile(r"(?<![0-9a-f])[0-9a-f]{128}(?![0-9a-f])", re.IGNORECASE),
}


def refang(text: str) -> str:
    """``hxxp://evil[.]com`` → ``http://evil.com``."""
    for pattern, replacement in _DEFANGS:
        text = pattern.sub(replacement, text)
    return text


def public_domain(candidate: str) -> Optional[str]:
    """The domain in lower case if its suffix is on the public suffix list (not a file name)."""
    domain = candidate.lower().rstrip(".")
    return domain if _PSL.privatesuffix(domain, accept_unknown=False) else None


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
    **{name: (pattern, _hexdigest) for name, pattern in _HEX.items()},
}


def find(text: str, kind: str, limit: int) -> Tuple[List[str], int]:
    """Distinct indicators of ``kind`` in order of appearance (at most ``limit``), and the total."""
    pattern, check = KINDS[kind]
    found: Dict[str, None] = {}
    total = 0
    for match in pattern.finditer(text):
        value = check(match.group(0))
        if value is None or value in found:
            continue
        total += 1
        if len(found) < limit:
            found[value] = None
    return list(found), total
