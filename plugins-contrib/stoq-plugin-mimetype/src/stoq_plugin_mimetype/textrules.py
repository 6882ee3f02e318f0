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
fixed-size integers with no mask or an AND mask. Every other rule is kept, but for the binary
pass's searches with a case or whitespace flag, which libmagic compares byte by byte at
every start: a text lacking one of their words (lowercased) anywhere cannot match them
(``RuleSet.text_drops``).

Binary content (``binary``): content holding a NUL byte in its first 64 KiB, after its trailing
NULs are trimmed, and not starting with a UTF-16 or UTF-32 byte-order mark, is text in no
encoding libmagic knows (its ``file_encoding``, run once on the buffer and once more on it
trimmed, looks at 64 KiB), so only the binary pass runs, on the content's own bytes. It skips
every top-level rule not flagged as a binary test. A top-level rule at a fixed offset (not
indirect, not from the end) comparing with ``=`` reads known bytes of the content: an exact
``string`` (no case or whitespace flag; each pattern byte against the content's byte, up to
the rule's range), an integer with no mask or an AND mask (in its byte order; an unsigned
``<`` needs the value's high bytes zero). Such a rule cannot match when a content byte at
one of its positions is not one it allows; a ``search`` with a bounded range and no case or
whitespace flag needs its pattern's bytes in its window; one with such a flag, which libmagic
compares byte by byte at every start, needs its first word, lowercased, in the lowercased
window (``record_search``). One more condition: a rule holding
an ``indirect`` (itself or through ``use``) runs every top-level rule again on the content
from an offset, where the positions differ, so a database may leave rules out only when none
of the rules that can match the content holds one (``RuleSet.binary_keeps``).

The database is read from libmagic's compiled file (``magic.mgc``, format version 18:
a header and 376-byte records, top-level rules at continuation level 0, the first set
holding the rules tried on buffers and the second the named ones ``use`` calls); what each
rule's first record tests is read by ``records``.
"""

from __future__ import annotations

import struct
from functools import reduce
from operator import or_
from typing import Dict, Iterator, List, Optional, Tuple

from .kinds import TEXT_BYTES, binary
from .records import (
    BINTEST,
    INDIRECT,
    MAGIC_NUMBER,
    RECORD,
    USE,
    VERSION,
    Needs,
    indirect_names,
    record_needs,
    record_positions,
    record_search,
    record_window,
    rule_name,
)

__all__ = ["TEXT_BYTES", "RuleSet", "binary", "read_rules"]

#: Binary content: the positions read at the start and the bytes bounded searches look at.
POSITIONS, WINDOW = 16, 64
#: How many first-bytes prefixes remember the rules they exclude.
STARTS = 256


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
        self._read_binary(self._named)

    def _read_binary(self, named: bytes) -> None:
        """What binary content needs: the rules its pass tries, those holding an ``indirect``,
        by content position the bytes each rule allows, what bounded searches need."""
        indirect = indirect_names(named)
        self._binary = self._indirect = 0
        self._at: Dict[int, Dict[int, int]] = {}  # position: {bytes allowed: rules}
        windows: List[Tuple[int, bytes]] = []
        #: (rule, where its first word may lie, its words)
        self._searches: List[Tuple[int, int, int, Tuple[bytes, ...]]] = []
        for position, (rule, _) in enumerate(self.rules):
            bit, first = 1 << position, rule[:RECORD]
            self._binary |= bit if first[2] & BINTEST else 0
            for start in range(0, len(rule), RECORD):
                record = rule[start : start + RECORD]
                if record[6] == INDIRECT or (record[6] == USE and rule_name(record) in indirect):
                    self._indirect |= bit
            for where, bytes_allowed in record_positions(first):
                group = self._at.setdefault(where, {})
                group[bytes_allowed] = group.get(bytes_allowed, 0) | bit
            window = record_window(first)
            if window is not None and window[0] <= WINDOW:
                windows.append((bit, window[1]))
            search = record_search(first)
            if search is not None and bit & self._binary:
                self._searches.append((bit, *search))
        #: Positions read: the first POSITIONS, and wherever a rule with an indirect reads.
        self._positions = [
            where
            for where, group in sorted(self._at.items())
            if where < POSITIONS or any(rules & self._indirect for rules in group.values())
        ]
        #: For each position read, the rules each byte value there excludes, all computed now:
        #: filled one miss at a time, the first thousands of binary payloads paid ~150 us each.
        self._excluded: Dict[int, List[int]] = {
            where: exclusion_table(self._at.get(where, {}))
            for where in {*range(POSITIONS), *self._positions}
        }
        self._starts: Dict[bytes, int] = {}  # a content's first bytes: the rules they exclude
        #: Bounded searches of rules with an indirect (which otherwise disable the analysis).
        self._in_window = [(bit, needs) for bit, needs in windows if bit & self._indirect]
        #: The rules random bytes match at the positions read with odds above 1 in 65,536: the
        #: rest of a shared database, which most content no rule starts with can use.
        odds = [1.0] * len(self.rules)
        for where in self._positions:
            for bytes_allowed, rules in self._at.get(where, {}).items():
                share = bin(bytes_allowed).count("1") / 256
                while rules:
                    lowest = rules & -rules
                    odds[lowest.bit_length() - 1] *= share
                    rules ^= lowest
        likely = sum(1 << position for position, odd in enumerate(odds) if odd > 2**-16)
        #: Searches compared byte by byte (half of libmagic's time on 2 KB of random bytes,
        #: for ``<!doctype svg`` alone) stay out of it: content holds their word only rarely.
        searched = sum(bit for bit, *_ in self._searches)
        self._shared = self._binary & likely & ~self._indirect & ~searched
        self._searched_to = max((end for _, _, end, _ in self._searches), default=0)

    def binary_keeps(self, head: bytes) -> Tuple[int, int]:
        """Which rules binary content (``binary(head)``) can match, and the superset of them
        to build a database with, which content no rule starts with shares."""
        start = head[:POSITIONS]
        dropped = self._starts.get(start)  # the same first bytes: gzip, PNG, zip, ELF
        if dropped is None:
            dropped = 0
            for where, value in enumerate(start):
                dropped |= self._excluded[where][value]
            if len(self._starts) >= STARTS:
                self._starts.clear()
            self._starts[start] = dropped
        for where in self._positions:
            if POSITIONS <= where < len(head):
                dropped |= self._excluded[where][head[where]]
        window = head[:WINDOW]
        for bit, pattern in self._in_window:
            if pattern.translate(None, window):  # a byte of the pattern is not in the window
                dropped |= bit
        lowered = head[: self._searched_to].lower()  # ASCII only, as libmagic's tolower
        for bit, begin, end, words in self._searches:
            if lowered.find(words[0], begin, end) < 0:
                dropped |= bit
        kept = self._binary & ~dropped
        if kept & self._indirect:
            return self._binary, self._binary
        return kept, kept | self._shared

    def text_drops(self, kept: int, lowered: bytes) -> int:
        """Which of the binary pass's byte-by-byte searches in ``kept`` an ASCII text (``lowered``:
        lowercased) cannot match: it lacks one of their words anywhere (every text pays for
        them before the text pass: ``<!doctype svg`` took 26 of libmagic's 83 us on 2 KB of
        HTML). Looked for in the whole text, so a rule run again from another offset
        (``indirect``) is covered too."""
        dropped = 0
        for bit, _, _, words in self._searches:
            if bit & kept and not all(word in lowered for word in words):
                dropped |= bit
        return dropped

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


def exclusion_table(at: Dict[int, int]) -> List[int]:
    """For one content position (``{bytes allowed: rules}``), the rules (bits) each byte value
    there excludes: those whose test at the position does not allow it.

    A rule tests a position once, so the groups' rules are disjoint and a value excludes every
    rule of the position except those of the groups allowing it: one pass over each group's
    allowed values (one or two for most tests) instead of one over the groups per value.
    """
    everyone = overlap = 0
    allowing = [0] * 256
    for bytes_allowed, rules in at.items():
        overlap |= everyone & rules
        everyone |= rules
        while bytes_allowed:
            lowest = bytes_allowed & -bytes_allowed
            allowing[lowest.bit_length() - 1] |= rules
            bytes_allowed ^= lowest
    if overlap:  # not seen in libmagic's databases; still answered right, the slow way
        return [
            reduce(or_, (rules for allowed, rules in at.items() if not allowed >> value & 1), 0)
            for value in range(256)
        ]
    return [everyone & ~rules for rules in allowing]


def read_rules(path: str) -> Optional[RuleSet]:
    """The rules of the compiled database at ``path``; None when it cannot be read as one."""
    try:
        with open(path, "rb") as stream:
            return RuleSet(stream.read())
    except (OSError, ValueError, struct.error):
        return None


#: Rules read before consumer processes fork (``preload_rules``), by database path.
PRELOADED: Dict[str, Optional[RuleSet]] = {}


def preload_rules(path: str) -> Optional[RuleSet]:
    """Read the rules now and keep them for every later ``rules_of(path)`` in this process and
    the processes it forks (each consumer read them itself: ~80 ms apiece)."""
    PRELOADED[path] = read_rules(path)
    return PRELOADED[path]


def rules_of(path: str) -> Optional[RuleSet]:
    """The preloaded rules of ``path``, else those read now."""
    return PRELOADED[path] if path in PRELOADED else read_rules(path)
