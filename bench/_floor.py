"""The bare loops the benchmarks compare stoQ with: the same work done the fastest honest way.

Each opens the archives with the standard library (and py7zr for 7z), computes each digest
once with hashlib's named constructors, makes ids the way stoQ does, and writes one JSON
response per scanned file with the same shape and ``json.dumps`` settings as stoQ's.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import zipfile
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence

#: What the hash plugin computes with its default options.
DEFAULT_ALGORITHMS = ("md5", "sha1", "sha256", "sha512")


def new_id() -> str:
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def digests(content: bytes, algorithms: Sequence[str]) -> Dict[str, str]:
    """Every digest once: SHA-256 serves as the payload's identity and as a hash result."""
    constructors = {name: getattr(hashlib, name) for name in algorithms}
    return {name: make(content).hexdigest() for name, make in constructors.items()}


def result(
    content: bytes,
    hashes: Dict[str, str],
    workers: Dict[str, Any],
    parent: Optional[str] = None,
    extra: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """One payload's entry in a response, as stoQ writes it."""
    return {
        "payload_id": new_id(),
        "size": len(content),
        "sha256": hashes["sha256"],
        "payload_meta": {
            "should_archive": True,
            "extra_data": extra or {},
            "dispatch_to": [],
            "should_scan": True,
        },
        "extracted_from": parent,
        "extracted_by": "decompress" if parent else None,
        "workers": [{**workers, "hash": hashes}],
        "plugins_run": {"workers": [sorted([*workers, "hash"])], "archivers": []},
        "archivers": {},
        "dispatch_meta": {},
        "deep_dispatch_meta": {},
    }


def members(content: bytes) -> Optional[List[tuple]]:
    """``(name, bytes)`` of an archive's members, or None when it is not an archive."""
    if content.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [(i.filename, archive.read(i)) for i in archive.infolist() if not i.is_dir()]
    if content.startswith(b"\x1f\x8b"):
        inner = gzip.decompress(content)
        if inner[257:262] != b"ustar":
            return [("", inner)]
        with tarfile.open(fileobj=io.BytesIO(inner), mode="r:") as archive:
            return [
                (m.name, archive.extractfile(m).read())  # type: ignore[union-attr]
                for m in archive.getmembers()
                if m.isfile()
            ]
    if content.startswith(b"7z\xbc\xaf\x27\x1c"):
        import py7zr
        from py7zr.io import BytesIOFactory

        factory = BytesIOFactory(1 << 30)
        with py7zr.SevenZipFile(io.BytesIO(content)) as archive:
            archive.extractall(factory=factory)
        return [(name, (out.seek(0), out.read())[1]) for name, out in factory.products.items()]
    return None


def scan(content: bytes, algorithms: Sequence[str] = DEFAULT_ALGORITHMS) -> int:
    """Open ``content`` and every archive inside it, hash every payload, write the JSON.

    Returns the number of payloads, so a benchmark can check both sides saw the same.
    """
    results: List[Dict[str, Any]] = []
    pending: List[tuple] = [(content, None, None)]
    while pending:
        data, parent, name = pending.pop(0)
        inside = members(data)
        workers = {}
        entry = result(data, digests(data, algorithms), workers, parent, name)
        if inside is not None:
            records = [{"archive_path": n, "size": len(m)} for n, m in inside]
            workers["decompress"] = {"members": records, "extracted": len(inside)}
            entry["workers"][0].update(workers)
            for member_name, member in inside:
                extra = {"filename": os.path.basename(member_name), "archive_path": member_name}
                pending.append((member, entry["payload_id"], extra))
        results.append(entry)
    json.dumps(
        {
            "scan_id": new_id(),
            "time": datetime.now(timezone.utc).isoformat(),
            "results": results,
            "request_meta": {"archive_payloads": True, "source": None, "extra_data": {}},
            "errors": [],
            "decorators": {},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return len(results)
