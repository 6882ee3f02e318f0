"""The result cache: a worker's answer for the same bytes, version and options is not computed
twice (SPEC §14).

An entry is keyed by (payload SHA-256, plugin name, plugin version, digest of the plugin's
effective options) and holds what the worker returned: its results, the errors it reported
and the payloads it extracted (their bytes and meta), so a hit feeds the scan exactly as the
call would have. Entries are JSON (never pickle: a shared Redis must not be able to run code
in a consumer). Entries larger than ``max_entry_bytes`` are not stored.

Backends: a SQLite file (WAL and a busy timeout, so several consumer processes share it) and
Redis (``redis://``, every machine of a cluster). A cache that fails is logged and turned off
for this process; a scan never fails because of it.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import time

from stoq.data_classes import Error, ExtractedPayload, PayloadMeta
from stoq.log import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Any, List, Optional, Tuple

__all__ = ["CacheEntry", "ResultCache", "open_cache", "plugin_key"]

log = get_logger("stoq.cache")

#: Options that change how the engine calls a plugin, not what it answers.
_NOT_IN_DIGEST = ("timeout", "cache", "isolation", "memory_limit")
_OFF = (False, 0, "false", "no", "off", "0")


def plugin_key(plugin: Any, name: str) -> Optional[str]:
    """``name:version:options-digest`` for a cacheable plugin; None when it opts out.

    A plugin opts out with the class attribute ``cacheable = False`` (an answer that changes
    with time, such as a reputation lookup) or the option ``cache = false``.
    """
    options = dict(getattr(plugin, "plugin_opts", None) or {})
    if not getattr(plugin, "cacheable", True) or options.get("cache", True) in _OFF:
        return None
    config = getattr(plugin, "config", None)
    try:
        version = config.get("Documentation", "Version", fallback="") if config else ""
    except Exception:  # noqa: BLE001 - a v2 config without the section
        version = ""
    effective = {k: v for k, v in options.items() if k not in _NOT_IN_DIGEST}
    text = json.dumps(effective, sort_keys=True, default=repr, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{name}:{version}:{digest}"


class CacheEntry:
    """One worker call's answer, as stored."""

    __slots__ = ("errors", "extracted", "results")

    def __init__(
        self,
        results: Any,
        errors: List[Tuple[str, Optional[str]]],
        extracted: List[ExtractedPayload],
    ) -> None:
        self.results = results
        self.errors = errors
        self.extracted = extracted

    def encode(self) -> bytes:
        return json.dumps(
            {
                "results": self.results,
                "errors": self.errors,
                "extracted": [
                    [
                        binascii.b2a_base64(e.content, newline=False).decode(),
                        e.payload_meta.to_dict(),
                    ]
                    for e in self.extracted
                ],
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> CacheEntry:
        data = json.loads(raw)
        extracted = [
            ExtractedPayload(binascii.a2b_base64(content), PayloadMeta(**meta))
            for content, meta in data["extracted"]
        ]
        errors = [(str(text), stage) for text, stage in data["errors"]]
        return cls(data["results"], errors, extracted)

    def errors_for(self, plugin: str, payload_id: str) -> List[Error]:
        return [Error(text, plugin, payload_id, stage or "scan") for text, stage in self.errors]


class ResultCache:
    """Lookups and stores through one backend; the first failure turns the cache off."""

    def __init__(self, backend: Any, max_entry_bytes: int) -> None:
        self.backend = backend
        self.max_entry_bytes = max_entry_bytes
        self.broken = False
        self.hits = 0
        self.misses = 0

    def _failed(self, action: str, exc: BaseException) -> None:
        self.broken = True
        log.error("result cache %s failed; scanning without the cache: %s", action, exc)
        self.close()

    def get(self, sha256: str, plugin: str) -> Optional[CacheEntry]:
        if self.broken:
            return None
        try:
            raw = self.backend.get(f"{plugin}:{sha256}")
            entry = None if raw is None else CacheEntry.decode(raw)
        except Exception as exc:  # noqa: BLE001 - a cache never fails a scan
            self._failed("lookup", exc)
            return None
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def get_raw(self, key: str) -> Optional[bytes]:
        """The bytes stored under ``key`` (a whole request's entry), None on a miss or failure."""
        if self.broken:
            return None
        try:
            raw: Optional[bytes] = self.backend.get(key)
        except Exception as exc:  # noqa: BLE001 - a cache never fails a scan
            self._failed("lookup", exc)
            return None
        return raw

    def put(self, sha256: str, plugin: str, entry: CacheEntry) -> None:
        if self.broken:
            return
        if sum(len(e.content) for e in entry.extracted) * 4 // 3 > self.max_entry_bytes:
            return
        try:
            self.put_raw(f"{plugin}:{sha256}", entry.encode())
        except Exception as exc:  # noqa: BLE001 - a cache never fails a scan
            self._failed("store", exc)

    def put_raw(self, key: str, raw: bytes) -> None:
        """Store ``raw`` under ``key`` unless it is over ``max_entry_bytes``."""
        if self.broken or len(raw) > self.max_entry_bytes:
            return
        try:
            self.backend.put(key, raw)
        except Exception as exc:  # noqa: BLE001 - a cache never fails a scan
            self._failed("store", exc)

    def close(self) -> None:
        try:
            self.backend.close()
        except Exception:
            log.debug("closing the result cache failed", exc_info=True)


class SQLiteBackend:
    """A local file; oldest entries go first when ``max_bytes`` is passed."""

    #: Stores between two checks of the file's size bound.
    PRUNE_EVERY = 200
    #: Seconds a statement waits for another process's lock on the file.
    BUSY_TIMEOUT = 30.0

    def __init__(self, path: str, ttl: float, max_bytes: int) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.path, self.ttl, self.max_bytes = path, ttl, max_bytes
        self._db: Optional[sqlite3.Connection] = None
        self._pid = 0
        self._stores = 0

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():  # never share a connection with a fork
            import sqlite3  # ~2.5 ms, paid only when the SQLite cache is used

            db = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT, isolation_level=None)
            try:
                self._use_wal(db)
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY,"
                    " value BLOB NOT NULL, stored REAL NOT NULL, size INTEGER NOT NULL)"
                )
                db.execute("CREATE INDEX IF NOT EXISTS entries_stored ON entries (stored)")
            except BaseException:
                db.close()  # a corrupted file: nothing left open
                raise
            self._db, self._pid = db, os.getpid()
        return self._db

    def _use_wal(self, db: sqlite3.Connection) -> None:
        """Put the file in WAL mode (readers never wait for a writer; the mode stays in the
        file). Processes opening a new file together each hold a shared lock and want an
        exclusive one to switch: SQLite answers "database is locked" at once, without waiting
        on the busy timeout (4 processes opening one new file at the same moment: 124 of 800
        failed), so the switch is tried again until the timeout."""
        import sqlite3

        give_up = time.monotonic() + self.BUSY_TIMEOUT
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > give_up:
                    raise
            time.sleep(0.005)

    def get(self, key: str) -> Optional[bytes]:
        row = self.db.execute(
            "SELECT value FROM entries WHERE key = ? AND stored > ?", (key, time.time() - self.ttl)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def put(self, key: str, value: bytes) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
            (key, value, time.time(), len(value)),
        )
        self._stores += 1
        if self._stores % self.PRUNE_EVERY == 1:
            self.prune()

    def prune(self) -> None:
        """Drop expired entries, then the oldest until the stored bytes fit ``max_bytes``."""
        db = self.db
        db.execute("DELETE FROM entries WHERE stored <= ?", (time.time() - self.ttl,))
        (total,) = db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()
        if total <= self.max_bytes:
            return
        excess, cutoff = total - self.max_bytes, None
        for stored, size in db.execute("SELECT stored, size FROM entries ORDER BY stored"):
            excess -= size
            cutoff = stored
            if excess <= 0:
                break
        if cutoff is not None:
            db.execute("DELETE FROM entries WHERE stored <= ?", (cutoff,))

    def close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None


class RedisBackend:
    """A Redis server shared by a cluster; entries expire after ``ttl`` seconds.

    The total size is Redis' own bound (``maxmemory`` with an eviction policy such as
    ``volatile-lru``); every key written here has its TTL.
    """

    def __init__(self, url: str, ttl: float, prefix: str) -> None:
        import redis  # the cache-redis extra

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.ttl_ms = max(1, int(ttl * 1000))
        self.prefix = prefix

    def get(self, key: str) -> Optional[bytes]:
        value = self.client.get(self.prefix + key)
        return value if isinstance(value, bytes) else None

    def put(self, key: str, value: bytes) -> None:
        self.client.set(self.prefix + key, value, px=self.ttl_ms)

    def close(self) -> None:
        self.client.close()


def default_sqlite_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "stoq", "results.sqlite")


def open_cache(
    spec: str, ttl: float, max_bytes: int, max_entry_bytes: int, prefix: str = "stoq:cache:"
) -> Optional[ResultCache]:
    """The cache ``spec`` names: ``""``/``none`` (off), ``sqlite`` (the default file),
    ``sqlite:PATH`` or ``redis://host:port/db``. A cache that cannot be opened is logged and
    the scan goes on without it."""
    spec = spec.strip()
    if spec in ("", "none", "off"):
        return None
    try:
        backend: Any
        if spec.startswith(("redis://", "rediss://", "unix://")):
            backend = RedisBackend(spec, ttl, prefix)
        elif spec == "sqlite" or spec.startswith("sqlite:"):
            backend = SQLiteBackend(spec[len("sqlite:") :] or default_sqlite_path(), ttl, max_bytes)
        else:
            raise ValueError(f"{spec!r} is not sqlite, sqlite:PATH or redis://HOST:PORT/DB")
    except Exception as exc:  # noqa: BLE001 - a cache never fails a scan
        log.error("result cache %s cannot be opened; scanning without it: %s", spec, exc)
        return None
    return ResultCache(backend, max_entry_bytes)
