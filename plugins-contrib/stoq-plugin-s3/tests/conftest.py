"""A real S3-compatible HTTP server (``moto_server``) on a free port, and a fresh bucket per
test, emptied and deleted afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, Iterator

import boto3.session
import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "stoq-test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "stoq-test-secret")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``moto_server`` started for this test session (fails loudly if it cannot start)."""
    port = _free_port()
    script = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    command = [script] if script else [sys.executable, "-m", "moto.server"]
    server = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    return boto3.session.Session().client("s3", endpoint_url=s3_endpoint)


@contextlib.contextmanager
def bucket_for(endpoint: str) -> Iterator[Dict[str, Any]]:
    """A fresh bucket, and plugin options naming it; emptied and deleted afterwards."""
    s3 = boto3.session.Session().client("s3", endpoint_url=endpoint)
    bucket = f"stoq-test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    try:
        yield {"bucket": bucket, "endpoint_url": endpoint, "region": "us-east-1"}
    finally:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])
        s3.delete_bucket(Bucket=bucket)


@pytest.fixture
def opts(s3_endpoint: str) -> Iterator[Dict[str, Any]]:
    """Plugin options naming this test's own bucket."""
    with bucket_for(s3_endpoint) as options:
        yield options
