"""`stoq serve` in front of the scale-out path: submit onto Redis, read results from PostgreSQL.

Real servers (Redis 127.0.0.1:6379, PostgreSQL 127.0.0.1:5432, database ``test``), a stream
and a schema of this test's own, removed afterwards; a real `stoq run -P redis -C postgres`
node does the scanning, as a machine of the cluster would.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import httpx
import jsonschema
from conftest import Server

import stoq

SCHEMA = json.loads(
    (Path(stoq.__file__).parent / "schema" / "response.schema.json").read_text(encoding="utf-8")
)


def _until(check: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_submit_then_read_the_saved_result(front: Server, node: None) -> None:
    content = b"queued through the HTTP API " + uuid.uuid4().bytes
    submitted = httpx.post(
        f"{front.url}/api/v1/submit", content=content, params={"filename": "queued.txt"},
        headers=front.headers(), timeout=60,
    )  # fmt: skip
    assert submitted.status_code == 202, submitted.text
    scan_id = submitted.json()["scan_id"]
    url = f"{front.url}/api/v1/scans/{scan_id}"

    def fetched() -> Any:
        response = httpx.get(url, headers=front.headers(), timeout=30)
        assert response.status_code in (200, 404), response.text
        return response if response.status_code == 200 else None

    saved = _until(fetched, 90)
    assert saved is not None, "the node never saved the submitted file"
    body = saved.json()
    jsonschema.validate(body, SCHEMA)
    root = body["results"][0]
    assert body["scan_id"] == scan_id
    assert root["sha256"] == hashlib.sha256(content).hexdigest()
    assert root["payload_meta"]["extra_data"]["filename"] == "queued.txt"
    # The history finds it by SHA-256 and by part of its name.
    for text in (root["sha256"], "queued"):
        rows = httpx.get(
            f"{front.url}/api/v1/scans", params={"q": text}, headers=front.headers()
        ).json()
        assert [r["scan_id"] for r in rows] == [scan_id]
    assert (
        httpx.get(
            f"{front.url}/api/v1/scans", params={"q": "nothing-like-it"}, headers=front.headers()
        ).json()
        == []
    )


def test_an_unknown_scan_is_404_and_an_unconfigured_store_is_501(
    front: Server, server: Server
) -> None:
    missing = httpx.get(f"{front.url}/api/v1/scans/no-such-scan", headers=front.headers())
    assert (
        missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    )
    for method, path in (
        ("POST", "/api/v1/submit"),
        ("GET", "/api/v1/scans/x"),
        ("GET", "/api/v1/scans"),
    ):
        answer = httpx.request(
            method,
            f"{server.url}{path}",
            content=b"x" if method == "POST" else None,
            headers=server.headers(),
        )
        assert answer.status_code == 404, (path, answer.text)
        assert "start stoq serve with --" in answer.json()["detail"]  # names the flag to set
    documented = httpx.get(f"{server.url}/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/submit" not in documented and "/api/v1/scans" not in documented


def test_a_plugin_without_the_method_is_refused_at_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "stoq"), "serve", "--submit-to", "hash", "--port", "0"],
        capture_output=True, text=True, env=dict(os.environ, STOQ_HOME=str(tmp_path)), timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--submit-to hash: plugin 'hash' has no submit() method" in done.stderr
