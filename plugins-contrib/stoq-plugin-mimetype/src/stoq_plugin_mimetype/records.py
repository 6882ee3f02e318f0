"""What one rule of libmagic's compiled database tests, read from its 376-byte record.

A record (format version 18) holds the test's type, relation, flags, offset and value; these
functions say what content a top-level rule's test needs (``textrules``' proof): the bytes a
``string``, ``search`` or ``regex`` pattern or an integer needs somewhere, the bytes it allows
at the fixed positions it reads, the window a bounded search looks in, and which named rules
run an ``indirect``.
"""

from __future__ import annotations

import string
import struct
import sys
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

__all__ = [
    "Needs",
    "Positions",
    "byte_mask",
    "indirect_names",
    "pattern_needs",
    "record_needs",
    "record_positions",
    "record_search",
    "record_window",
    "regex_needs",
    "rule_name",
]

MAGIC_NUMBER, VERSION, RECORD = 0xF11E041C, 18, 376
SPACE = frozenset(b" \t\n\v\f\r")
#: libmagic's /c and /C flags: a lowercase (uppercase) letter of the pattern matches either
#: case; without them letters compare exactly. A regex with either flag ignores case.
FOLD_LOWER, FOLD_UPPER = 0x4, 0x8
FOLD_BOTH = FOLD_LOWER | FOLD_UPPER
STRING, REGEX, SEARCH = 5, 17, 20
INDIRECT, NAME, USE = 41, 45, 46
#: A record's flags: offset read from the content, offset from the end, unsigned comparison,
#: tried by the binary pass. libmagic's /W and /w string flags (whitespace matches runs).
INDIR, OFFNEGATIVE, UNSIGNED, BINTEST = 0x01, 0x80, 0x08, 0x20
WHITESPACE = 0x1 | 0x2
BIG_ENDIAN, LITTLE_ENDIAN = {7, 8, 26}, {10, 11, 25}
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
#: Where a rule reads the content and the bytes (as bits) it allows there.
Positions = Tuple[Tuple[int, int], ...]


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


def allowed(mask: int, value: int) -> int:
    """The bytes (as bits) ``b`` with ``b & mask == value``."""
    if mask == 0xFF:
        return 1 << value
    return sum(1 << b for b in range(256) if b & mask == value)


def record_positions(record: bytes) -> Positions:
    """Where the top-level rule in ``record`` reads the content at a fixed offset and which
    bytes it allows there; () when unknown."""
    relation, length, kind, flag = record[4], record[5], record[6], record[2]
    offset = struct.unpack_from("=i", record, 12)[0]
    if flag & (INDIR | OFFNEGATIVE) or offset < 0:
        return ()
    if kind == STRING and relation == ord("="):
        count, flags = struct.unpack_from("=II", record, 24)
        if flags & (WHITESPACE | FOLD_BOTH):
            return ()
        copied = count if 0 < count < 127 else 127  # the bytes libmagic copies, NUL after
        pattern = record[32 : 32 + min(length, copied)]
        return tuple((offset + i, 1 << b) for i, b in enumerate(pattern))
    if kind not in INTEGERS or record[9] != 0 or relation not in b"=<":
        return ()
    size = INTEGERS[kind]
    mask, number = struct.unpack_from("=QQ", record, 24)
    masks = (mask or (1 << 64) - 1).to_bytes(8, "little")[:size]
    if relation == ord("="):
        values, significant = number.to_bytes(8, "little")[:size], range(size)
    elif flag & UNSIGNED:  # below the value: the bytes above its highest are zero
        values, significant = bytes(size), range((number.bit_length() + 7) // 8, size)
    else:
        return ()
    order = "big" if kind in BIG_ENDIAN else "little" if kind in LITTLE_ENDIAN else sys.byteorder
    return tuple(
        (offset + (j if order == "little" else size - 1 - j), allowed(masks[j], values[j]))
        for j in significant
        if masks[j]
    )


def record_window(record: bytes) -> Optional[Tuple[int, bytes]]:
    """Where the window of a bounded ``search`` in ``record`` ends, and its pattern (whose
    bytes the window must hold)."""
    relation, length, kind, flag = record[4], record[5], record[6], record[2]
    offset = struct.unpack_from("=i", record, 12)[0]
    count, flags = struct.unpack_from("=II", record, 24)
    if kind != SEARCH or relation != ord("=") or flag & (INDIR | OFFNEGATIVE) or offset < 0:
        return None
    if not count or flags & (WHITESPACE | FOLD_BOTH):
        return None
    pattern = record[32 : 32 + min(length, 128)]
    return offset + count + len(pattern), pattern


def record_search(record: bytes) -> Optional[Tuple[int, int, Tuple[bytes, ...]]]:
    """A bounded ``search`` that libmagic compares byte by byte at each start (a case or
    whitespace flag; memmem without one): where its first word (its pattern up to the first
    whitespace) can lie, ``(start, end)``, and its words lowercased; None for other rules.

    Each word is compared byte for byte (a letter in either case under a case flag), the
    first starting within the range, so content whose lowercased window lacks the first word,
    or which lacks any of them anywhere, cannot match. A pattern starting with whitespace or
    holding a NUL (padding) gives None: the rule is always kept.
    """
    relation, length, kind, flag = record[4], record[5], record[6], record[2]
    offset = struct.unpack_from("=i", record, 12)[0]
    count, flags = struct.unpack_from("=II", record, 24)
    if kind != SEARCH or relation != ord("=") or flag & (INDIR | OFFNEGATIVE) or offset < 0:
        return None
    if not count or not flags & (WHITESPACE | FOLD_BOTH):
        return None
    pattern = record[32 : 32 + min(length, 128)]
    if not pattern or pattern[0] in SPACE or b"\0" in pattern:
        return None
    words = tuple(pattern.lower().split())
    return offset, offset + count - 1 + len(words[0]), words  # starts before offset + count


def rule_name(record: bytes) -> bytes:
    """The name a ``name`` record defines or a ``use`` record calls (``^``: byte-swapped)."""
    return record[32:160].split(b"\0", 1)[0].lstrip(b"^")


def indirect_names(named: bytes) -> FrozenSet[bytes]:
    """The named rules that hold an ``indirect``, themselves or through ``use``."""
    holds: Dict[bytes, bool] = {}
    calls: Dict[bytes, Set[bytes]] = {}
    current = b""
    for start in range(0, len(named), RECORD):
        record = named[start : start + RECORD]
        if record[6] == NAME and record[0] == record[1] == 0:
            current = rule_name(record)
        holds[current] = holds.get(current, False) or record[6] == INDIRECT
        if record[6] == USE:
            calls.setdefault(current, set()).add(rule_name(record))
    found = {name for name, indirect in holds.items() if indirect}
    grown = True
    while grown:
        more = {name for name, used in calls.items() if name not in found and used & found}
        found |= more
        grown = bool(more)
    return frozenset(found)
