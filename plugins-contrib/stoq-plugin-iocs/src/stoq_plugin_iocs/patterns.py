"""Finding indicators in text: refanging, the patterns, and checks that drop look-alikes."""

from __future__ import annotations

import functools
import re
import string

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Pattern, Tuple

    from publicsuffixlist import PublicSuffixList

    #: A kind's candidates in order of appearance, before its check.
    Finder = Callable[[str], Iterator[str]]

__all__ = ["HASHES", "KINDS", "find", "find_hashes", "public_domain", "refang"]


@functools.cache
def _psl() -> PublicSuffixList:
    """The shipped public suffix list (no download at run time), parsed on first use: parsing
    takes ~60 ms, and text without a dotted name never needs it."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


class _Lazy:
    """A pattern compiled when first used: compiling them all cost ~25 M instructions of every
    process (more than a tenth of a small file's ``stoq scan``), and text without their anchors
    (a dot, a colon, an ``@``, a bracket) needs none of them."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # Called only for a name not yet set: each method asked for is then kept as an
        # attribute, so later calls cost what the compiled pattern's own do.
        value = getattr(re.compile(*self._args), name)
        setattr(self, name, value)
        return value


def _lazy(pattern: str, flags: int = 0) -> Pattern[str]:
    return _Lazy(pattern, flags)  # type: ignore[return-value]


#: Defanged spellings (one pass, one alternative each) and what each stands for.
_DEFANG = _lazy(
    r"\b(?P<http>hxxp)(?=s?\b)|\b(?P<ftp>fxp)\b"
    r"|(?P<dot>\[(?:\.|dot)\]|\((?:\.|dot)\)|\{(?:\.|dot)\})"
    r"|(?P<scheme>\[://\])|(?P<colon>\[(?::|colon)\])|(?P<at>\[(?:@|at)\]|\((?:@|at)\))",
    re.IGNORECASE,
)
#: A piece every defanged spelling holds (its opening bracket and the character after it, or
#: the ``xp`` of hxxp/fxp), the literal character it starts with, and how far before it the
#: spellings holding it start. ``in`` finds a character at memchr speed, ``re`` a pattern's
#: literal first character at ~0.4 ns a character, but a pattern starting with a character
#: class or ``\b`` (as ``_DEFANG``) costs ~5 to 100 ns a character. ``[.:@dcaxp]`` ignoring
#: case is these characters in either case and no other.
_DEFANG_HINTS = (
    ("[", _lazy(r"\[[.:@dcaDCA]"), (0,)),
    ("(", _lazy(r"\([.@daDA]"), (0,)),
    ("{", _lazy(r"\{[.dD]"), (0,)),
    ("x", _lazy(r"x[pP]"), (2, 1)),
    ("X", _lazy(r"X[pP]"), (2, 1)),
)
_FANGED = {"http": "http", "ftp": "ftp", "dot": ".", "scheme": "://", "colon": ":", "at": "@"}

# What each kind is. ``re`` tries a pattern that starts with a look-behind or ``\b`` at every
# position (~30 ns each, 4 KB of text ~120 us per kind), so the finders below try them only
# where a rare piece every match holds (an anchor, found by a fast literal search) says a
# match may start: the matches, and their order, are those of ``pattern.finditer(text)``.
_LABEL = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
_DOMAIN = rf"(?:{_LABEL}\.)+[a-z][a-z0-9-]{{1,62}}"
_URL = _lazy(r"\b(?:https?|ftp)://[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_DOMAIN_RE = _lazy(rf"(?<![\w.@-]){_DOMAIN}(?![\w-])", re.IGNORECASE)
_EMAIL = _lazy(rf"\b[a-z0-9._%+-]{{1,64}}@{_DOMAIN}\b", re.IGNORECASE)
_IPV4 = _lazy(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6 = _lazy(r"(?<![0-9a-f:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![0-9a-f:])", re.IGNORECASE)
#: Hex digits (``[0-9a-f]`` ignoring case is these 22 ASCII characters and nothing else) as
#: ``x``, every other byte as a space: a hash is a run of 32 or more ``x`` in the translation.
_HEX_BYTES = b"".join(b"x" if chr(c) in string.hexdigits else b" " for c in range(256))
_HEX_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


def refang(text: str) -> str:
    """``hxxp://evil[.]com`` → ``http://evil.com``: what ``_DEFANG.sub`` gives, trying the
    pattern only where a spelling can start."""
    starts = sorted(
        hint.start() - back
        for first, pattern, backs in _DEFANG_HINTS
        if first in text
        for hint in pattern.finditer(text)
        for back in backs
    )
    pieces = []
    pos = 0
    for start in starts:
        match = _DEFANG.match(text, start) if start >= pos else None
        if match:
            pieces += (text[pos:start], _FANGED[match.lastgroup or ""])
            pos = match.end()
    return "".join((*pieces, text[pos:])) if pieces else text


def _urls(text: str) -> Iterator[str]:
    """``_URL``: its scheme (3 to 5 letters) ends just before a ``://``."""
    pos = 0
    colon = text.find("://") if ":" in text else -1  # `in` is memchr, find ~1 ns a character
    while colon >= 0:
        for start in range(max(pos, colon - 5), colon - 2):
            match = _URL.match(text, start)
            if match:
                yield match.group(0)
                pos = match.end()
                break
        colon = text.find("://", max(colon + 1, pos))


#: The local part of an address, up to its ``@`` (``\Z`` at the search's end position).
_LOCAL_PART = _lazy(r"[a-z0-9._%+-]+\Z", re.IGNORECASE)
#: The rest of ``_EMAIL`` from its ``@``: whether it matches does not depend on the local part.
_AT_DOMAIN = _lazy(rf"@{_DOMAIN}\b", re.IGNORECASE)


def _emails(text: str) -> Iterator[str]:
    """``_EMAIL``: it starts at most 64 characters before an ``@`` that a domain follows,
    and all of them are local-part characters."""
    pos = 0
    for at in _AT_DOMAIN.finditer(text) if "@" in text else ():
        local = _LOCAL_PART.search(text, max(pos, at.start() - 64), at.start())
        if local is None:
            continue
        for start in range(local.start(), at.start()):
            match = _EMAIL.match(text, start)
            if match:
                yield match.group(0)
                pos = match.end()
                break


def _runs(pattern: Pattern[str], first: str, anchor: Pattern[str], run: Pattern[str]) -> Finder:
    """A finder for ``pattern``, whose look-behind lets it start only where a run of ``run``'s
    characters starts, whose matches stay inside that run and hold ``anchor`` (which starts
    with the literal ``first``): it is tried once, at the start of each run holding an anchor
    (so a long run costs one pass)."""

    def finder(text: str) -> Iterator[str]:
        backwards = ""
        pos = 0
        found = anchor.search(text) if first in text else None
        while found:
            at = found.start()
            backwards = backwards or text[::-1]
            start = len(text) - run.match(backwards, len(text) - 1 - at).end()
            match = pattern.match(text, start)
            if match:
                yield match.group(0)
            pos = run.match(text, at).end()
            found = anchor.search(text, pos)

    return finder


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
        import ipaddress  # when a candidate is found: its import is ~2 % of a small stoq scan

        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            return None
        return str(address) if address.version == version else None

    return check


def _hexdigest(candidate: str) -> Optional[str]:
    # A run of one repeated character (zeros, padding) is not a hash.
    return candidate.lower() if len(set(candidate.lower())) > 2 else None


KINDS: Dict[str, Tuple[Finder, Callable[[str], Optional[str]]]] = {
    "urls": (_urls, _url),
    # A domain ends in a dot, a letter and a letter, digit or hyphen.
    "domains": (
        _runs(_DOMAIN_RE, ".", _lazy(r"\.[a-z][a-z0-9-]", re.I), _lazy(r"[\w.@-]*", re.I)),
        public_domain,
    ),
    "emails": (_emails, _email),
    "ipv4": (_runs(_IPV4, ".", _lazy(r"\.\d"), _lazy(r"[\d.]*")), _ip(4)),
    # Two of an address's colons with at most four hex digits between them.
    "ipv6": (
        _runs(_IPV6, ":", _lazy(r":[0-9a-f]{0,4}:", re.I), _lazy(r"[0-9a-f:]*", re.I)),
        _ip(6),
    ),
}
HASHES = tuple(_HEX_LENGTHS.values())


def _distinct(values: Iterable[Optional[str]], limit: int) -> Tuple[List[str], int]:
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
    finder, check = KINDS[kind]
    # A candidate seen before is not checked again (the public suffix list, ipaddress).
    checked: Dict[str, Optional[str]] = {}
    return _distinct(
        (
            checked[candidate]
            if candidate in checked
            else checked.setdefault(candidate, check(candidate))
            for candidate in finder(text)
        ),
        limit,
    )


def find_hashes(text: str, limit: int) -> Dict[str, Tuple[List[str], int]]:
    """MD5, SHA-1, SHA-256 and SHA-512 digests: hex runs of exactly those lengths."""
    runs: Dict[str, List[Optional[str]]] = {name: [] for name in HASHES}
    # Hex digits are ASCII, so a run of them is the same run in the UTF-8 bytes: one C-speed
    # translation and substring search find them instead of a pattern tried at every digit.
    data = text.encode("utf-8", "surrogatepass")
    hexes = data.translate(_HEX_BYTES)
    start = hexes.find(b"x" * 32)
    while start >= 0:
        end = hexes.find(b" ", start)
        end = len(hexes) if end < 0 else end
        name = _HEX_LENGTHS.get(end - start)
        if name is not None:
            runs[name].append(_hexdigest(data[start:end].decode("ascii")))
        start = hexes.find(b"x" * 32, end)
    return {name: _distinct(values, limit) for name, values in runs.items()}
