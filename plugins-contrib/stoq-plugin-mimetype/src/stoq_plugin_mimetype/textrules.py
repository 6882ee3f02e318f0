"""libmagic's database without the rules that cannot match a given ASCII text.

libmagic tries every top-level rule of its database on every buffer, in strength order; on
2 KiB of plain text about 3,500 rules, 80% of the time in ~400 text rules that search the
whole buffer (case-insensitive HTML tags, regular expressions). A top-level rule that fails
has no effect, so a database without the rules that provably fail on a buffer answers
exactly what the whole database answers, for both questions.

The proof used here: every byte libmagic compares with a rule's pattern is a byte of the
content (or NUL padding past its end). For ASCII text (libmagic's own definition: bytes
7-13, 27 and 32-126 only) both of its passes, the binary one on the bytes and the text one on
the text re-encoded as UTF-8, see exactly these bytes. A rule whose pattern needs a byte the
content lacks (a letter in either case; whitespace, NUL and anything unparsed need nothing)
cannot match it. The patterns analysed: ``string`` and ``search`` compared for equality,
``regex`` (POSIX extended; what the expression requires at its top level), and equality of
fixed-size integers with no mask or an AND mask. Every other rule is kept.

The database is read from libmagic's compiled file (``magic.mgc``, format version 18:
a header and 376-byte records, top-level rules at continuation level 0, the first set
holding the rules tried on buffers and the second the named ones ``use`` calls).
"""

from __future__ import annotations

import string
import struct
from typing import Dict, Iterator, List, Optional, Tuple

__all__ = ["TEXT_BYTES", "RuleSet", "read_rules", "regex_needs"]

MAGIC_NUMBER, VERSION, RECORD = 0xF11E041C, 18, 376
#: Bytes that make content ASCII text for libmagic (its ``text_chars`` table, below 0x80).
TEXT_BYTES = bytes([7, 8, 9, 10, 11, 12, 13, 27, *range(32, 127)])
SPACE = frozenset(b" \t\n\v\f\r")
#: libmagic's /c and /C flags: a lowercase (uppercase) letter of the pattern matches either
#: case; without them letters compare exactly. A regex with either flag ignores case.
FOLD_LOWER, FOLD_UPPER = 0x4, 0x8
FOLD_BOTH = FOLD_LOWER | FOLD_UPPER
STRING, REGEX, SEARCH = 5, 17, 20
#: Integer types and their sizes: byte, short, long, quad, each native, big- and little-endian.
INTEGERS = {1: 1, 2: 2, 4: 4, 24: 8, 7: 2, 8: 4, 26: 8, 10: 2, 11: 4, 25: 8}
CLASSES = {
    b"alpha": string.ascii_letters,
    b"upper": string.ascii_uppercase,
    b"lower": string.ascii_lowercase,
    b"digit": string.digits,
    b"xdigit": string.hexdigits,
    b"alnum": string.ascii_letters + string.digits,
    b"space": string.whitespace,
    b"blank": " \t",
    b"punct": string.punctuation,
}

#: A rule's needs: every mask (a set of bytes, as bits) must meet the content's bytes.
Needs = Tuple[int, ...]


class Unsupported(ValueError):
    """An expression this module does not read; its rule is kept."""


def byte_mask(value: int, folds: int = FOLD_BOTH) -> int:
    """The byte, and its other case when it is a letter of a case the comparison folds."""
    char = chr(value)
    lower, upper = "a" <= char <= "z", "A" <= char <= "Z"
    if (lower and folds & FOLD_LOWER) or (upper and folds & FOLD_UPPER):
        return 1 << value | 1 << ord(char.swapcase())
    return 1 << value


def pattern_needs(pattern: bytes, folds: int = FOLD_BOTH) -> Needs:
    """What a ``string`` or ``search`` pattern needs: its bytes but whitespace and NUL (the
    /w and /W flags make whitespace optional; NUL matches the padding past the end)."""
    return tuple({byte_mask(b, folds) for b in pattern if b and b not in SPACE})


def integer_needs(value: int, mask: int, size: int) -> Needs:
    """What ``content & mask == value`` over ``size`` bytes needs: each byte of the value that
    the mask keeps whole and that is not NUL (where the bytes sit does not matter here)."""
    values = value.to_bytes(8, "little")[:size]
    masks = (mask or (1 << 64) - 1).to_bytes(8, "little")[:size]
    return tuple({1 << v for v, m in zip(values, masks) if m == 0xFF and v})


def _bracket(pattern: bytes, i: int, folds: int) -> Tuple[int, int]:
    """The set a bracket expression starting after ``[`` matches (0: any byte), and the end."""
    negated = pattern[i : i + 1] == b"^"
    i += negated
    members, first = 0, True
    while i < len(pattern) and (first or pattern[i] != ord("]")):
        first = False
        if pattern[i : i + 2] == b"[:":
            end = pattern.find(b":]", i + 2)
            name = pattern[i + 2 : end]
            if end < 0 or name not in CLASSES:
                raise Unsupported(name)
            for char in CLASSES[name]:
                members |= byte_mask(ord(char), folds)
            i = end + 2
        elif pattern[i : i + 2] in (b"[.", b"[="):
            raise Unsupported("collating element")
        elif pattern[i + 1 : i + 2] == b"-" and pattern[i + 2 : i + 3] not in (b"]", b""):
            for value in range(pattern[i], pattern[i + 2] + 1):
                members |= byte_mask(value, folds)
            i += 3
        else:
            members |= byte_mask(pattern[i], folds)
            i += 1
    if i >= len(pattern):
        raise Unsupported("unclosed bracket")
    return (0 if negated else members), i + 1


def _minimum(pattern: bytes, i: int) -> Tuple[int, int]:
    """The least repeat count of the quantifiers at ``i`` (1 when none), and their end."""
    least = 1
    while i < len(pattern) and pattern[i] in b"*+?{":
        if pattern[i] == ord("{"):
            end = pattern.find(b"}", i)
            bounds = pattern[i + 1 : end].split(b",")
            if end < 0 or not bounds[0].isdigit() or len(bounds) > 2:
                raise Unsupported("interval")
            least *= int(bounds[0])
            i = end + 1
        else:
            least *= pattern[i] == ord("+")
            i += 1
    return least, i


def _alternatives(pattern: bytes, i: int, depth: int, folds: int) -> Tuple[List[List[int]], int]:
    """The needs of each ``|`` branch from ``i`` to the closing parenthesis (or the end)."""
    branches: List[List[int]] = [[]]
    while i < len(pattern) and pattern[i] != ord(")"):
        char = pattern[i]
        atom: List[int] = []
        if char == ord("|"):
            branches.append([])
            i += 1
            continue
        if char == ord("("):
            inner, i = _alternatives(pattern, i + 1, depth + 1, folds)
            if i >= len(pattern):
                raise Unsupported("unclosed group")
            i += 1
            if all(inner):  # each branch needs something: one of their first needs
                union = 0
                for branch in inner:
                    union |= branch[0]
                atom = [union] if len(inner) > 1 else inner[0]
        elif char == ord("["):
            members, i = _bracket(pattern, i + 1, folds)
            atom = [members] if members else []
        elif char == ord("\\"):
            escaped = pattern[i + 1 : i + 2]
            if not escaped:
                raise Unsupported("trailing backslash")
            if not (escaped.isalnum() or escaped in b"<>`'"):  # GNU: \w, \b, \1, ... need nothing
                atom = [byte_mask(escaped[0], folds)]
            i += 2
        elif char in b"*+?{":
            raise Unsupported("quantifier without an atom")
        else:
            if char not in b".^$":
                atom = [byte_mask(char, folds)]
            i += 1
        least, i = _minimum(pattern, i)
        if least:
            branches[-1].extend(atom)
    if depth == 0 and i < len(pattern):
        raise Unsupported("unbalanced parenthesis")
    return branches, i


def regex_needs(pattern: bytes, folds: int = FOLD_BOTH) -> Needs:
    """What a POSIX extended expression needs to match: at its top level each literal,
    bracket set or group that cannot repeat zero times. Nothing when it is not understood."""
    try:
        branches, _ = _alternatives(pattern, 0, 0, folds)
    except (Unsupported, IndexError, ValueError):
        return ()
    if len(branches) > 1:
        if not all(branches):
            return ()
        union = 0
        for branch in branches:
            union |= branch[0]
        return (union,)
    return tuple(set(branches[0]))


def record_needs(record: bytes) -> Needs:
    """What the top-level rule in ``record`` needs from the content; () when unknown."""
    relation, length, kind = record[4], record[5], record[6]
    if relation != ord("="):
        return ()
    value = record[32:160]
    folds = struct.unpack_from("=I", record, 28)[0] & FOLD_BOTH
    if kind in (STRING, SEARCH):
        return pattern_needs(value[:length], folds)
    if kind == REGEX:
        return regex_needs(value.split(b"\0", 1)[0], FOLD_BOTH if folds else 0)
    if kind in INTEGERS and record[9] == 0:  # no mask operator but AND, not inverted
        mask, number = struct.unpack_from("=QQ", record, 24)
        return integer_needs(number, mask, INTEGERS[kind])
    return ()


class RuleSet:
    """The compiled database split into top-level rules (each with its continuations), with
    what each needs; builds the database that keeps only the rules a content can match."""

    def __init__(self, database: bytes) -> None:
        magic, version, first, second = struct.unpack_from("=4I", database)
        if magic != MAGIC_NUMBER or version != VERSION:
            raise ValueError("not a version 18 magic database in this byte order")
        if len(database) != RECORD * (1 + first + second):
            raise ValueError("the database's size does not match its header")
        self._header = database[:8] + database[12:RECORD]  # the first set's count is rewritten
        self._named = database[RECORD * (1 + first) :]
        self.rules: List[Tuple[bytes, Needs]] = []
        start = RECORD
        for end in self._rule_ends(database, first):
            self.rules.append((database[start:end], record_needs(database[start : start + RECORD])))
            start = end
        self._all = (1 << len(self.rules)) - 1
        #: For each set of bytes some rule needs, the rules (bits) that need it.
        self._needing: Dict[int, int] = {}
        for position, (_, needs) in enumerate(self.rules):
            for mask in needs:
                self._needing[mask] = self._needing.get(mask, 0) | 1 << position

    @staticmethod
    def _rule_ends(database: bytes, count: int) -> Iterator[int]:
        """Where each top-level rule of the first set ends (the next continuation level 0)."""
        for index in range(1, count):
            offset = RECORD * (1 + index)
            if database[offset] == 0 and database[offset + 1] == 0:
                yield offset
        yield RECORD * (1 + count)

    def keeps(self, present: int) -> int:
        """Which rules (bits, by position) content with the bytes in ``present`` can match."""
        dropped = 0
        for mask, rules in self._needing.items():
            if not mask & present:
                dropped |= rules
        return self._all & ~dropped

    def database(self, kept: int) -> bytes:
        """The compiled database with only the rules in ``kept``."""
        rules = [rule for position, (rule, _) in enumerate(self.rules) if kept >> position & 1]
        count = sum(len(rule) for rule in rules) // RECORD
        return b"".join(
            [self._header[:8], struct.pack("=I", count), self._header[8:], *rules, self._named]
        )


def read_rules(path: str) -> Optional[RuleSet]:
    """The rules of the compiled database at ``path``; None when it cannot be read as one."""
    try:
        with open(path, "rb") as stream:
            return RuleSet(stream.read())
    except (OSError, ValueError, struct.error):
        return None
