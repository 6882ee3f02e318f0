"""The ``postgres`` stoQ plugin: one JSONB row per response, upserted by scan id.

A redelivered request (same scan id, SPEC §5.5) replaces its row instead of adding one. By
default each ``save`` commits before it returns, so run mode acknowledges a queue message only
once its row is durable. ``batch_size`` above 1 trades that for throughput: rows are written
in one statement when the batch fills, after ``flush_interval``, and at ``stop()``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import psycopg
from psycopg import sql

from stoq.data_classes import StoqResponse
from stoq.plugins import ConnectorPlugin

#: ``\u0000`` in JSON text (not preceded by an odd number of backslashes): jsonb cannot hold it.
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
#: A row: scan id, response time, root SHA-256, error count, response JSON text.
Row = Tuple[str, str, Optional[str], int, str]


def row_for(response: StoqResponse) -> Row:
    """The row of one response (NUL characters become U+FFFD, the only change made)."""
    text = _NUL.sub(lambda m: m.group(1) + "\\ufffd", str(response))
    root = response.results[0].sha256 if response.results else None
    return response.scan_id, response.time, root, len(response.errors), text


class PostgresPlugin(ConnectorPlugin):
    """Responses as JSONB rows in PostgreSQL, upserted by scan_id."""

    #: Typed defaults; a config file's [plugins.postgres] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "dsn": "",
        "schema": "public",
        "table": "stoq_responses",
        "create": True,
        "batch_size": 1,
        "flush_interval": 1.0,
    }

    def start(self) -> None:
        for key in ("schema", "table"):
            if not _IDENTIFIER.fullmatch(str(self.plugin_opts[key])):
                raise ValueError(f"option {key!r} must be a plain SQL identifier")
        self._conn: Optional[psycopg.Connection[Any]] = None
        self._pending: List[Row] = []
        self._oldest = 0.0
        self._lock = threading.Lock()

    @property
    def table(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(
            sql.Identifier(str(self.plugin_opts["schema"])),
            sql.Identifier(str(self.plugin_opts["table"])),
        )

    def connection(self) -> psycopg.Connection[Any]:
        """Connect on first use (``dsn``, else ``STOQ_POSTGRES_DSN``, else libpq's PG* vars)."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            dsn = str(self.plugin_opts["dsn"] or os.environ.get("STOQ_POSTGRES_DSN", ""))
            self._conn = psycopg.connect(dsn, autocommit=True)
            if self.plugin_opts["create"]:
                self._create(self._conn)
        return self._conn

    def _create(self, conn: psycopg.Connection[Any]) -> None:
        """Schema, table and indexes if missing; serialised, as many nodes start at once."""
        schema = sql.Identifier(str(self.plugin_opts["schema"]))
        name = str(self.plugin_opts["table"])
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('stoq-postgres-create'))")
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " scan_id text PRIMARY KEY,"
                    " time timestamptz NOT NULL,"
                    " sha256 text,"
                    " errors integer NOT NULL,"
                    " saved_at timestamptz NOT NULL DEFAULT now(),"
                    " response jsonb NOT NULL)"
                ).format(self.table)
            )
            conn.execute(
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON {} USING gin (response jsonb_path_ops)"
                ).format(sql.Identifier(f"{name}_response_gin"), self.table)
            )
            conn.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (sha256)").format(
                    sql.Identifier(f"{name}_sha256"), self.table
                )
            )

    def save(self, response: StoqResponse) -> None:
        """Upsert the response's row (or add it to the batch)."""
        with self._lock:
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append(row_for(response))
            full = len(self._pending) >= int(self.plugin_opts["batch_size"])
            if full or time.monotonic() - self._oldest >= float(self.plugin_opts["flush_interval"]):
                self._flush()

    def _flush(self) -> None:
        """Write every pending row in one statement; on failure they stay pending."""
        if not self._pending:
            return
        rows = {row[0]: row for row in self._pending}  # the last response per scan id wins
        placeholders = sql.SQL(", ").join(sql.SQL("(%s, %s, %s, %s, %s::jsonb)") for _ in rows)
        statement = sql.SQL(
            "INSERT INTO {} (scan_id, time, sha256, errors, response) VALUES {}"
            " ON CONFLICT (scan_id) DO UPDATE SET time = EXCLUDED.time,"
            " sha256 = EXCLUDED.sha256, errors = EXCLUDED.errors,"
            " response = EXCLUDED.response, saved_at = now()"
        ).format(self.table, placeholders)
        values = [value for row in rows.values() for value in row]
        self.connection().execute(statement, values)
        self._pending.clear()

    # -- for stoq serve: reading results back ----------------------------------------------

    def fetch(self, scan_id: str) -> Optional[Dict[str, Any]]:
        """The saved response of ``scan_id`` (``stoq serve --results-from postgres``), if any."""
        with self._lock:
            self._flush()  # a batched response of this process is readable at once
        row = (
            self.connection()
            .execute(
                sql.SQL("SELECT response FROM {} WHERE scan_id = %s").format(self.table), [scan_id]
            )
            .fetchone()
        )
        return None if row is None else dict(row[0])

    def search(self, text: str = "", limit: int = 50) -> List[Dict[str, Any]]:
        """Newest scans first; ``text`` matches any payload's SHA-256 exactly (through the GIN
        index) or part of any payload's filename."""
        query = sql.SQL(
            "SELECT scan_id, time, sha256, errors,"
            " response #>> '{{results,0,payload_meta,extra_data,filename}}',"
            " jsonb_array_length(response -> 'results')"
            " FROM {} WHERE %(text)s = ''"
            " OR response @> jsonb_build_object('results', jsonb_build_array("
            "jsonb_build_object('sha256', %(text)s)))"
            " OR EXISTS (SELECT 1 FROM jsonb_array_elements(response -> 'results') AS r"
            " WHERE r #>> '{{payload_meta,extra_data,filename}}' ILIKE %(like)s)"
            " ORDER BY time DESC LIMIT %(limit)s"
        ).format(self.table)
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.connection().execute(query, {"text": text, "like": like, "limit": limit})
        keys = ("scan_id", "time", "sha256", "errors", "filename", "payloads")
        return [{**dict(zip(keys, row)), "time": row[1].isoformat()} for row in rows.fetchall()]

    def stop(self) -> None:
        """Write what is still batched, then close: a graceful stop loses no response."""
        with self._lock:
            try:
                self._flush()
            finally:
                if self._conn is not None:
                    self._conn.close()
