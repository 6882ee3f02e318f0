"""MIME type and description of a payload: libmagic when it loads, puremagic otherwise."""

from __future__ import annotations

import threading
from collections import OrderedDict
from configparser import ConfigParser

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .kinds import TEXT_BYTES, binary

__all__ = ["HEAD_BYTES", "MimetypePlugin", "load_libmagic", "mime_of_description"]

BACKENDS = ("auto", "libmagic", "puremagic")
#: How much of a payload libmagic looks at. libmagic reads up to 7 MiB of a buffer itself; on
#: 1,200 files of this project's build machine 1 MiB gave the same answers as the whole file,
#: while 256 KiB already changed TrueType and gettext descriptions and 4 KiB JSON's MIME type.
HEAD_BYTES = 1024 * 1024
#: Descriptions (their first clause) that libmagic gives for one MIME type only: content no
#: format matched. For these one libmagic call answers both questions.
MIME_OF_DESCRIPTION = {
    "data": "application/octet-stream",
    "empty": "application/x-empty",
    "ASCII text": "text/plain",
    "Unicode text": "text/plain",
    "ISO-8859 text": "text/plain",
    "Non-ISO extended-ASCII text": "text/plain",
}

#: ASCII text up to this size gets a database without the rules it cannot match (above it,
#: looking for the bytes those rules need costs more than it saves).
TEXT_LIMIT = 64 * 1024
#: Databases kept at once per kind of content (text, binary; ~3-8 MB each) and databases
#: asked for remembered. A database is built (~10 ms) once asked for BUILD_AFTER times, and
#: beyond the first DATABASES builds at most one per BUILD_EVERY payloads of its kind (a
#: stream of ever new byte sets costs at most ~1%). The rules are read (~90 ms) at the
#: READ_AFTER-th payload: a short run never pays for them.
DATABASES, BYTE_SETS, BUILD_AFTER, BUILD_EVERY, READ_AFTER = 6, 256, 3, 1000, 16
#: A cached database with up to this many times the rules a payload's own would have serves
#: it; a bigger one serves it only until its own is built (plain text served by HTML's
#: database, 980 rules for its 206, cost 4.6 times as much).
SLACK = 1.5
#: Lowercase letters count as present (nearly every text has most of them; gating on each
#: would give each text its own database), uppercase letters and digits all or none (plain
#: prose has no digit: the rules needing one, ~20% of those HTML keeps, are left out).
ALWAYS_PRESENT = sum(1 << b for b in b"abcdefghijklmnopqrstuvwxyz")
UPPERCASE = sum(1 << b for b in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = sum(1 << b for b in b"0123456789")


TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple

    from .libmagic import Libmagic
    from .textrules import RuleSet

    Identify = Callable[[bytes], Tuple[str, str]]


def mime_of_description(description: str) -> Optional[str]:
    """The MIME type a description implies, or None when only libmagic can tell.

    libmagic's encoding check names Unicode text ``Unicode text, <encoding> text``; rules of
    its database print ``Unicode text, UTF-7`` (or UTF-32, SCSU, UTF-8-EBCDIC) alone, and the
    MIME type then depends on the content (``+/v8`` then a NUL: application/octet-stream).
    """
    first, _, rest = description.partition(",")
    if first == "Unicode text" and " text" not in rest:
        return None
    return MIME_OF_DESCRIPTION.get(first)


class Handles:
    """libmagic handles whose databases leave out rules (``textrules``), keyed by the rules
    kept, at most DATABASES; any cached one with all the rules a content can match serves it
    (more rules than needed answer the same), the one with the fewest first."""

    def __init__(self, full: Libmagic) -> None:
        self._full = full
        self._asked = self._built = 0
        self._seen: Dict[int, int] = {}  # rules wanted: times asked for
        self._handles: OrderedDict[int, Libmagic] = OrderedDict()  # by the rules kept
        self._sizes: Dict[int, int] = {}  # how many rules each handle's database has
        self._lock = threading.Lock()

    def get(self, rules: RuleSet, kept: int, wanted: int) -> Libmagic:
        """A handle with every rule of ``kept``: a cached one, else one built with ``wanted``
        (a superset of ``kept``) once asked for BUILD_AFTER times, else the whole database."""
        from .libmagic import Libmagic

        with self._lock:
            self._asked += 1
            handle = self._handles.get(wanted)  # its own database: served without a search
            if handle is not None:
                self._handles.move_to_end(wanted)
                return handle
            size = bin(wanted).count("1")
            handle, rules_in_handle = self._superset(kept)
            if handle is not None and rules_in_handle <= size * SLACK:
                return handle
            seen = self._seen.get(wanted, 0) + 1
            if len(self._seen) >= BYTE_SETS:
                self._seen.clear()
            self._seen[wanted] = seen
            if seen < BUILD_AFTER or self._built >= DATABASES + self._asked // BUILD_EVERY:
                return handle or self._full
            self._built += 1
            handle = self._handles[wanted] = Libmagic(rules.database(wanted))
            self._sizes[wanted] = size
            if len(self._handles) > DATABASES:
                del self._sizes[self._handles.popitem(last=False)[0]]
            return handle

    def _superset(self, kept: int) -> Tuple[Optional[Libmagic], int]:
        """The cached handle with the fewest rules that has all of ``kept``, marked as used,
        and how many rules it has."""
        fitting = [rules for rules in self._handles if not kept & ~rules]
        if not fitting:
            return None, 0
        best = min(fitting, key=self._sizes.__getitem__)
        self._handles.move_to_end(best)
        return self._handles[best], self._sizes[best]


class Shortcuts:
    """The handle for a payload: for ASCII text a database without the rules it cannot match,
    keyed by the bytes the text holds (letters and digits aside); for binary content one
    without the rules its first bytes exclude (``textrules``); else the whole database. The
    rules are read at the READ_AFTER-th payload; without them every payload gets ``full``."""

    def __init__(self, full: Libmagic) -> None:
        self._full = full
        self._payloads = 0
        self._rules: Optional[RuleSet] = None
        self._bytes: List[int] = []
        self._kept: Dict[int, int] = {}  # a text's byte set: the rules it can match
        self._texts, self._binaries = Handles(full), Handles(full)
        self._lock = threading.Lock()

    def _read(self) -> None:
        """libmagic's rules and the bytes they need, when its database is one readable file."""
        from .libmagic import database_path
        from .textrules import rules_of

        path = database_path()
        self._rules = rules_of(path) if path else None
        needed = 0
        for _, needs in self._rules.rules if self._rules else ():
            for mask in needs:
                needed |= mask
        grouped = ALWAYS_PRESENT | UPPERCASE | DIGITS
        self._bytes = [b for b in TEXT_BYTES if needed >> b & 1 and not grouped >> b & 1]

    def _ready(self) -> Optional[RuleSet]:
        with self._lock:
            self._payloads += 1
            if self._payloads == READ_AFTER:
                self._read()
            return self._rules

    def get(self, head: bytes) -> Libmagic:
        """The handle for ``head`` (what libmagic is given of a payload)."""
        if len(head) < 2:
            return self._full
        if binary(head):  # checked first: cheaper, and binary content is never ASCII text
            rules = self._ready()
            if rules is None:
                return self._full
            kept, wanted = rules.binary_keeps(head)
            return self._binaries.get(rules, kept, wanted)
        if len(head) <= TEXT_LIMIT and not head.translate(None, TEXT_BYTES):
            rules = self._ready()
            return self._full if rules is None else self._text(rules, head)
        return self._full

    def _text(self, rules: RuleSet, text: bytes) -> Libmagic:
        lowered = text.lower()
        present = ALWAYS_PRESENT | (UPPERCASE if text != lowered else 0)
        present |= DIGITS if any(digit in text for digit in b"0123456789") else 0  # memchr
        for value in self._bytes:
            if value in text:
                present |= 1 << value
        with self._lock:
            kept = self._kept.get(present)
            if kept is None:
                if len(self._kept) >= BYTE_SETS:
                    self._kept.clear()
                kept = self._kept[present] = rules.keeps(present)
        kept &= ~rules.text_drops(kept, lowered)
        return self._texts.get(rules, kept, kept)


def load_libmagic() -> Identify:
    """A libmagic-backed identify function; OSError when libmagic is missing."""
    from .libmagic import MAGIC_MIME_TYPE, MAGIC_NONE, Libmagic

    full = Libmagic()
    shortcuts = Shortcuts(full)

    def identify(content: bytes) -> Tuple[str, str]:
        head = content[:HEAD_BYTES]
        libmagic = shortcuts.get(head)
        description = libmagic.identify(head, MAGIC_NONE)
        mimetype = mime_of_description(description) or libmagic.identify(head, MAGIC_MIME_TYPE)
        return mimetype, description

    return identify


def _fallback() -> Identify:
    """puremagic's identify function, imported only when used (its import costs ~9 ms)."""
    from .fallback import identify

    return identify


class MimetypePlugin(WorkerPlugin):
    """Reports ``{"mimetype", "description", "backend"}`` for each payload.

    ``backend = "auto"`` uses libmagic and falls back to puremagic, with a warning, when the
    library cannot be loaded; ``"libmagic"`` refuses to load without it; ``"puremagic"`` never
    touches libmagic.
    """

    #: Forked consumers may share one started instance (libmagic handles, databases in memory).
    fork_safe = True

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {"backend": "auto"}

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        wanted = str(self.plugin_opts.get("backend", "auto")).strip().lower()
        if wanted not in BACKENDS:
            choices = ", ".join(BACKENDS)
            raise ValueError(f"mimetype: option 'backend' must be one of {choices}, not {wanted!r}")
        self.backend, self._identify = self._choose(wanted)

    def _choose(self, wanted: str) -> Tuple[str, Identify]:
        if wanted == "puremagic":
            return "puremagic", _fallback()
        try:
            return "libmagic", load_libmagic()
        except OSError as exc:
            if wanted == "libmagic":
                raise ImportError(
                    f"mimetype: backend 'libmagic' requested but it cannot be loaded ({exc});"
                    " install libmagic (Debian/Ubuntu: libmagic1, RHEL: file-libs) or set"
                    " backend = 'auto'"
                ) from exc
            self.log.warning("libmagic cannot be loaded (%s); using puremagic instead", exc)
            return "puremagic", _fallback()

    @classmethod
    def preload(cls) -> None:
        """Before consumers fork: read libmagic's rules once in the parent, for every consumer
        to inherit (each read them at its 16th payload otherwise)."""
        from .libmagic import database_path
        from .textrules import preload_rules

        path = database_path()
        if path:
            preload_rules(path)

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        mimetype, description = self._identify(payload.content)
        return WorkerResponse(
            {"mimetype": mimetype, "description": description, "backend": self.backend}
        )
