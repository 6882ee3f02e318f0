"""``filedir``: read files from a folder, keep payloads by SHA-256, write results as JSON files."""

from __future__ import annotations

import hashlib
import os
import re
from configparser import ConfigParser
from datetime import datetime, timezone
from queue import Queue
from typing import Any, ClassVar, Dict, List, Optional

from stoq.data_classes import ArchiverResponse, Payload, PayloadMeta, RequestMeta, StoqResponse
from stoq.plugins import ArchiverPlugin, ConnectorPlugin, ProviderPlugin
from stoq.serialize import dumps

from .fs import atomic_write, open_root, open_under, read_regular
from .walk import iter_source

__all__ = ["FiledirPlugin"]

SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: Scan ids become file names: letters, digits, dot, dash and underscore, not starting with a dot.
SCAN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
#: date_mode → how many of (year, month, day) folders a result file sits in.
DATE_MODES = {"none": 0, "year": 1, "month": 2, "day": 3}


def flag(value: Any, name: str) -> bool:
    """A boolean option given as a bool or as text (INI files and command lines)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise ValueError(f"filedir: option {name!r} must be true or false, not {value!r}")


def archive_key(task: Any) -> str:
    """The lower-case SHA-256 a ``get`` task names; anything else is refused before any I/O."""
    if not isinstance(task, str) or not SHA256.fullmatch(task):
        raise ValueError(f"filedir: get() expects a 64-character hex SHA-256, got {task!r:.80}")
    return task.lower()


def fan_out(sha256: str) -> List[str]:
    """``ab/cd/abcd…``: two levels of folders keep any one folder small."""
    return [sha256[:2], sha256[2:4], sha256]


class FiledirPlugin(ProviderPlugin, ArchiverPlugin, ConnectorPlugin):
    """Provider of local files, content-addressed payload store, and one JSON file per response."""

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "source_dir": "",
        "recursive": False,
        "archive_dir": "",
        "results_dir": "",
        "date_mode": "none",
    }

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        opts = self.plugin_opts
        source, path = str(opts.get("source_dir") or ""), str(opts.get("path") or "")
        if source and path and source != path:
            raise ValueError("filedir: options 'source_dir' and 'path' disagree; give only one")
        self.source = source or path
        self.recursive = flag(opts.get("recursive", False), "recursive")
        self.archive_dir = str(opts.get("archive_dir") or "")
        self.results_dir = str(opts.get("results_dir") or "")
        date_mode = str(opts.get("date_mode") or "none").strip().lower()
        if date_mode not in DATE_MODES:
            choices = ", ".join(DATE_MODES)
            raise ValueError(
                f"filedir: option 'date_mode' must be one of {choices}, not {date_mode!r}"
            )
        self.date_mode = date_mode

    def _require(self, value: str, option: str, role: str) -> str:
        if not value:
            raise ValueError(f"filedir: set the {option!r} option to use filedir as {role}")
        return value

    # -- provider ----------------------------------------------------------------------------

    def ingest(self, queue: Queue[Any]) -> None:
        """Queue each file of ``source_dir`` (a file or a folder), in name order, as a
        ``SourceFile``: the consumer process that scans it reads it (``walk``)."""
        source = self._require(self.source, "source_dir", "a provider")
        own_folders = (self.archive_dir, self.results_dir)
        for found in iter_source(source, self.recursive, own_folders, self.plugin_name):
            queue.put(found)

    # -- archiver ----------------------------------------------------------------------------

    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        """Store the payload at ``archive_dir/ab/cd/<sha256>`` unless an equal copy is there."""
        root = self._require(self.archive_dir, "archive_dir", "an archiver")
        sha256 = payload.sha256
        parts = fan_out(sha256)
        with open_root(root, create=True) as root_fd:
            if self._stored_size(root_fd, parts) != len(payload.content):
                atomic_write(root_fd, parts, payload.content)
        return ArchiverResponse({"sha256": sha256, "path": os.path.join(root, *parts)})

    @staticmethod
    def _stored_size(root_fd: int, parts: List[str]) -> Optional[int]:
        """Size of the stored copy, None if absent (a copy is only ever renamed in whole)."""
        try:
            with open_under(root_fd, parts) as fd:
                return os.fstat(fd).st_size
        except FileNotFoundError:
            return None

    def get(self, task: Any) -> Optional[Payload]:
        """The payload archived under the SHA-256 ``task``, checked against its name."""
        sha256 = archive_key(task)
        root = self._require(self.archive_dir, "archive_dir", "a source archiver")
        try:
            with open_root(root) as root_fd, open_under(root_fd, fan_out(sha256)) as fd:
                content = read_regular(fd)
        except FileNotFoundError:
            raise FileNotFoundError(f"filedir: no payload {sha256} in {root}") from None
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ValueError(
                f"filedir: archived payload {sha256} in {root} is corrupt (hash differs)"
            )
        path = os.path.join(root, *fan_out(sha256))
        return Payload(content, PayloadMeta(extra_data={"filename": sha256, "path": path}))

    # -- connector ---------------------------------------------------------------------------

    def save(self, response: StoqResponse) -> None:
        """Write ``results_dir/[YYYY/MM/DD/]<scan_id>.json`` atomically."""
        root = self._require(self.results_dir, "results_dir", "a connector")
        if not SCAN_ID.fullmatch(response.scan_id):
            raise ValueError(f"filedir: scan id {response.scan_id!r:.80} cannot be a file name")
        parts = [*self._date_parts(response.time), f"{response.scan_id}.json"]
        with open_root(root, create=True) as root_fd:
            atomic_write(root_fd, parts, (dumps(response.to_dict()) + "\n").encode("utf-8"))

    def _date_parts(self, time: str) -> List[str]:
        depth = DATE_MODES[self.date_mode]
        if not depth:
            return []
        try:
            when = datetime.fromisoformat(time).astimezone(timezone.utc)
        except (TypeError, ValueError):
            raise ValueError(f"filedir: response time {time!r} is not ISO 8601") from None
        return [f"{when.year:04d}", f"{when.month:02d}", f"{when.day:02d}"][:depth]
