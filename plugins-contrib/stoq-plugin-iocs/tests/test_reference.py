"""The optimised finders report exactly what the pre-optimisation patterns report.

``pre_optimisation_reference`` is the plugin as it was before issue 15 (every pattern run over
the whole text). On text the system ships, the default-profile benchmark's members, the
hostile inputs of ``test_iocs`` and generated text dense with indicators and near misses, both
give the same candidates per kind (before the checks), the same refanged text and the same
results.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import string
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Pattern, Set, Tuple

import pre_optimisation_reference as reference
import pytest

from stoq_plugin_iocs import patterns
from stoq_plugin_iocs.plugin import indicators

REFERENCE_PATTERNS: Dict[str, Pattern[str]] = {
    "urls": reference._URL,
    "domains": reference._DOMAIN_RE,
    "emails": reference._EMAIL,
    "ipv4": reference._IPV4,
    "ipv6": reference._IPV6,
}
#: Characters of system text compared (the reference costs ~0.5 us a character).
SYSTEM_BUDGET = 1_500_000
PER_FILE = 200_000


def assert_same(content: bytes, limits: Tuple[int, ...] = (1000,)) -> Dict[str, Any]:
    """Candidates of every kind, refanging and hashes on the raw and the refanged text, then
    the plugin's whole results with each of ``limits`` as ``max_per_kind``; the first ones."""
    raw = reference._text(content)
    refanged = reference.refang(raw)
    first: Dict[str, Any] = {}
    assert patterns.refang(raw) == refanged
    for text in {raw, refanged}:
        for kind, (finder, _) in patterns.KINDS.items():
            expected = [m.group(0) for m in REFERENCE_PATTERNS[kind].finditer(text)]
            assert list(finder(text)) == expected, (kind, text[:200])
        assert patterns.find_hashes(text, 1000) == reference.find_hashes(text, 1000)
    for limit in limits:
        results = indicators(content, 1 << 22, limit)
        assert results == reference.indicators(content, 1 << 22, limit)
        first = first or results
    return first


def system_texts() -> Iterator[bytes]:
    """Text files the system ships (gzipped ones decompressed), a deterministic spread of them:
    licences and copyright files (URLs, addresses), /etc (addresses, host names), changelogs
    and manual pages (addresses, versions, dotted names), within ``SYSTEM_BUDGET``."""
    roots = {
        "/usr/share/common-licenses": "*",
        "/etc": "**/*",
        "/usr/share/doc": "**/*",
        "/usr/share/man": "**/*.gz",
    }
    paths: List[Path] = []
    for root, glob in roots.items():
        found = sorted(p for p in Path(root).glob(glob) if p.is_file() and not p.is_symlink())
        # A spread across each tree, not its first files: every k-th by a stable order.
        step = max(1, len(found) // 400)
        paths += found[::step]
    if len(paths) < 10:
        pytest.skip("the system ships almost no text files here")
    used = 0
    for path in paths:
        try:
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
        except (OSError, EOFError, gzip.BadGzipFile):
            continue
        data = data[:PER_FILE]
        if b"\0" in data[:4096]:
            continue  # binary
        yield data
        used += len(data)
        if used > SYSTEM_BUDGET:
            return


def benchmark_members() -> Iterator[bytes]:
    """The text kinds the default-profile benchmark generates, the way it generates them."""
    root = Path(__file__).resolve().parents[3] / "bench"
    if not (root / "default_profile.py").exists():
        pytest.skip("the repository's bench folder is not here")
    sys.path.insert(0, str(root))
    try:
        from default_profile import MAKERS
    finally:
        sys.path.remove(str(root))
    rng = random.Random(15)
    for _ in range(12):
        for kind in ("txt", "json", "csv", "html", "pdf"):
            yield MAKERS[kind](rng, rng.randrange(512, 4096))


#: Pieces of indicators, near misses and what surrounds them.
PIECES = [
    "http://", "https://", "HTTPS://", "ftp://", "hxxp://", "hXXps://", "fxp://", "httpſ://",
    "http[:]//", "hxxps[://]", "://", "www.", "example.com", "evil.co.uk", "a.b", "x.zip",
    "report.exe", "bücher.de", "xn--bcher-kva.de", "例え.jp", "xn--r8jz45g.jp", ".com", ".",
    "..", "[.]", "(.)", "{.}", "[dot]", "(DOT)", "{dot}", "[@]", "(at)", "[AT]", "@", "@@",
    "john.doe", "a_b", "%+-", "_", "-", "--", "a-", "-a", "user@example.org", "x@y", "@b.cd",
    "1.2.3.4", "192.168.0.1", "10.0.0.300", "1.2.3.4.5", "01.02.03.04", "999.1.1.1", "1.2.3",
    "8.8.8.8.", ".1.1.1.1", "1..2.3.4", "١.٢.٣.٤", "2001:db8::7", "::", "::1", "fe80::1%eth0",
    "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", ":::", "a:b", "12345:1::", "2001:DB8:0:0:8:800:200C:417A",
    "::ffff:192.0.2.1", ":", "0" * 32, "f" * 40, hashlib.md5(b"a").hexdigest(),
    hashlib.sha1(b"a").hexdigest().upper(), hashlib.sha256(b"a").hexdigest(),
    hashlib.sha512(b"a").hexdigest(), "ab" * 16, "abc" * 11, "a1" * 20, "deadbeef" * 8 + "0",
    "Kelvin\u212a.com", "ı.com", "İ.com", "x\u017ftp://", "ſ", "K", "é", "\u00a0", "\u2028",
    "\U0001f600", "\ud800", " ", " ", " ", "\n", "\t", ",", ";", "'", '"', "<", ">", "(", ")",
    "[", "]", "{", "}", "/", "\\", "|", "^", "`", "?", "!", "=", "&", "#", "a", "Z", "9", "0",
    "xp", "XP", "dot", "colon", "[colon]", "[:]", "[://]", "at",
]  # fmt: skip


def dense_texts() -> Iterator[bytes]:
    """Generated text dense with indicators, defanged forms and near misses, in every order."""
    rng = random.Random(15)
    for size in [5, 20, 80, 400] * 100:
        text = "".join(rng.choice(PIECES) for _ in range(size))
        yield text.encode("utf-8", "surrogatepass")
    yield json.dumps({"pieces": PIECES}).encode()


def hostile_texts() -> Iterator[bytes]:
    """The hostile runs of ``test_iocs``, a tenth of their size (the reference takes seconds on
    the full ones), and each with an indicator at both ends."""
    from test_iocs import REPORT, hostile_runs

    for data in hostile_runs().values():
        small = data[: len(data) // 10]
        yield small
        yield b"http://a.example.com/ 1.2.3.4 " + small + b" ::1 a@b.example.org"
    yield REPORT
    yield REPORT.decode().encode("utf-16")


ALL_KINDS = {*patterns.KINDS, *patterns.HASHES, "defanged"}


@pytest.mark.parametrize(
    ("corpus", "limits", "kinds"),
    [
        (system_texts, (1000,), {"urls", "domains"}),
        (benchmark_members, (1000,), set()),
        # A small max_per_kind too: the counts of what is past it.
        (dense_texts, (1000, 3), ALL_KINDS),
        (hostile_texts, (1000,), {"urls", "domains", "emails", "ipv4", "ipv6", "defanged"}),
    ],
    ids=["system", "benchmark", "dense", "hostile"],
)
def test_same_as_the_reference(
    corpus: Callable[[], Iterator[bytes]], limits: Tuple[int, ...], kinds: Set[str]
) -> None:
    """Identical on every item; the corpus holds the kinds it is meant to (so a finder that
    found nothing anywhere would fail)."""
    found: Set[str] = set()
    count = 0
    for content in corpus():
        results = assert_same(content, limits)
        found.update(kind for kind, values in results.items() if values)
        count += 1
    assert count > 10
    assert found >= kinds


def test_hints_match_the_ignorecase_classes() -> None:
    """The refang hints spell ``[.:@dcaxp]`` ignoring case as ASCII characters: no other
    character is one of them ignoring case (as K, the Kelvin sign, is ``k``)."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert set(re.findall(r"[.:@dcaxp]", every, re.IGNORECASE)) == set(".:@dcaxpDCAXP")
    assert set(re.findall(r"[0-9a-f]", every, re.IGNORECASE)) == set(string.hexdigits)
