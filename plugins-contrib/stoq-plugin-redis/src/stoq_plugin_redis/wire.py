"""How a file travels on the work stream: one entry per submitted payload.

Fields: ``content`` (the bytes, inline) or ``task`` (JSON ``{archiver_name: task}`` for a
payload stored elsewhere, e.g. in S3), ``meta`` (JSON: ``extra_data``, ``dispatch_to``) and
``submitted`` (Unix time, for latency). The scan id is derived from the stream and entry id,
so every delivery of one entry yields the same id.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Dict, List, Mapping, Optional, Union

from stoq.data_classes import Payload, PayloadMeta

__all__ = ["Fields", "decode", "encode", "scan_id_for"]

#: Raw stream entry fields as redis-py returns them.
Fields = Mapping[bytes, bytes]
_NAMESPACE = uuid.UUID("0b7c6f43-5d1a-4d52-9a27-6c1d0b0e2f5e")


def scan_id_for(stream: str, entry_id: str) -> str:
    """The scan id of one stream entry: the same on every delivery, on every machine."""
    return str(uuid.uuid5(_NAMESPACE, f"{stream}/{entry_id}"))


def encode(
    content: Optional[bytes],
    task: Optional[Dict[str, Any]] = None,
    extra_data: Optional[Mapping[str, Any]] = None,
    dispatch_to: Optional[List[str]] = None,
) -> Dict[str, Union[bytes, str]]:
    """Entry fields for ``content`` inline, or for an archiver ``task`` when content is None."""
    meta = {"extra_data": dict(extra_data or {}), "dispatch_to": list(dispatch_to or [])}
    fields: Dict[str, Union[bytes, str]] = {
        "meta": json.dumps(meta),
        "submitted": repr(time.time()),
    }
    if content is not None:
        fields["content"] = content
    elif task is not None:
        fields["task"] = json.dumps(task)
    else:
        raise ValueError("an entry needs content or an archiver task")
    return fields


def decode(fields: Fields) -> Any:
    """A ``Payload``, or ``{archiver_name: task}`` (its ``extra_data`` carried in the task)."""
    meta = json.loads(fields.get(b"meta", b"{}"))
    if not isinstance(meta, dict):
        raise ValueError("entry field 'meta' is not a JSON object")
    extra_data = meta.get("extra_data") or {}
    if b"content" in fields:
        return Payload(
            fields[b"content"],
            PayloadMeta(extra_data=extra_data, dispatch_to=meta.get("dispatch_to") or []),
        )
    if b"task" in fields:
        item = json.loads(fields[b"task"])
        if not (isinstance(item, dict) and len(item) == 1):
            raise ValueError("entry field 'task' is not {archiver_name: task}")
        return item
    raise ValueError("entry has neither 'content' nor 'task'")
