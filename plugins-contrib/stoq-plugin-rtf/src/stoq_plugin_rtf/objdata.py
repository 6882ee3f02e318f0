"""The ``\\objdata`` groups of an RTF document, decoded from hex, in one pass.

Word reads an object's data leniently and exploit kits rely on it: whitespace, control words,
``\\binN`` raw bytes and nested groups may sit among the hex digits. Here every ``\\objdata``
control word starts a collection that lasts until its group closes (or the document ends).
Hex digits of its text and of nested plain groups (``{0105}``) are kept; a nested group that
opens with a control word is a destination of its own (``{\\*\\...}``, ``{\\proptype ...}``)
and is skipped, as Word skips it; control words, symbols and every other byte are skipped too;
``\\binN`` bytes are taken as they are; an odd last digit is dropped. Tokens are matched with
one regular expression and braces are counted, so time and memory grow linearly with the
document whatever its nesting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

__all__ = ["ObjData", "find_objdata"]

#: A run of text, a run of one kind of brace, a control word (letters, optional signed number;
#: Word reads up to 250 letters), or a control symbol (backslash and any other byte).
_TOKEN = re.compile(
    rb"(?P<text>[^{}\\]+)|(?P<open>\{+)|(?P<close>\}+)"
    rb"|(?P<word>\\(?P<name>[a-zA-Z]{1,250})(?P<param>-?\d{1,20})?)|(?P<symbol>\\.?)",
    re.DOTALL,
)
_NOT_HEX = re.compile(rb"[^0-9a-fA-F]+")


@dataclass
class ObjData:
    """One ``\\objdata`` group: where its data starts and the bytes it decodes to."""

    #: Offset just past the ``\\objdata`` control word (and its number, if any).
    offset: int
    chunks: List[bytes] = field(default_factory=list, repr=False)
    #: The group ran to the end of the document without closing.
    unterminated: bool = False

    @property
    def data(self) -> bytes:
        """The hex digits decoded (``\\bin`` bytes as they are); an odd last digit dropped."""
        return b"".join(self.chunks)


class _Collector:
    """Hex text of one open ``\\objdata`` group, turned into bytes as runs end."""

    def __init__(self, offset: int, depth: int) -> None:
        self.found = ObjData(offset)
        self.depth = depth  # the group the control word sits in
        self.skip_below: Optional[int] = None  # inside a nested destination group this deep
        self.digits: List[bytes] = []

    def text(self, run: bytes) -> None:
        self.digits.append(_NOT_HEX.sub(b"", run))

    def binary(self, raw: bytes) -> None:
        """``\\bin`` bytes: kept as they are, after the digits read so far."""
        self._flush(keep_odd=False)
        self.found.chunks.append(raw)

    def _flush(self, keep_odd: bool) -> None:
        digits = b"".join(self.digits)
        if len(digits) % 2:
            self.digits = [digits[-1:]] if keep_odd else []
            digits = digits[:-1]
        else:
            self.digits = []
        if digits:
            self.found.chunks.append(bytes.fromhex(digits.decode("ascii")))

    def close(self, unterminated: bool = False) -> ObjData:
        self._flush(keep_odd=False)
        self.found.unterminated = unterminated
        return self.found

    def compact(self) -> None:
        """Decode the digits collected so far, so memory stays near the decoded size."""
        if len(self.digits) > 4096:
            self._flush(keep_odd=True)


def find_objdata(content: bytes) -> Iterator[ObjData]:
    """Each ``\\objdata`` group of ``content``, in document order."""
    depth = 0
    current: Optional[_Collector] = None
    pos, end = 0, len(content)
    kind: Optional[str] = None
    while pos < end:
        token = _TOKEN.match(content, pos)
        assert token is not None  # every byte starts one of the alternatives
        pos = token.end()
        kind, previous = token.lastgroup, kind
        if kind == "open":
            depth += len(token.group())
        elif kind == "close":
            closes = len(token.group())
            if current is not None and depth - closes < current.depth:
                yield current.close()
                current = None
            depth = max(depth - closes, 0)
            if (
                current is not None
                and current.skip_below is not None
                and depth < current.skip_below
            ):
                current.skip_below = None
        elif current is None:
            if kind == "word" and token.group("name") == b"objdata":
                current = _Collector(token.end(), depth)
        elif previous == "open" and kind in ("word", "symbol") and depth > current.depth:
            if current.skip_below is None:
                current.skip_below = depth
        elif current.skip_below is not None:
            continue
        elif kind == "text":
            current.text(token.group())
            current.compact()
        elif kind == "word" and token.group("name") == b"bin":
            size = max(int(token.group("param") or 0), 0)
            if content[pos : pos + 1] == b" ":
                pos += 1
            current.binary(content[pos : pos + size])
            pos = min(pos + size, end)
    if current is not None:
        yield current.close(unterminated=True)
