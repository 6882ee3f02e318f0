"""A real ``stoq serve`` process on a free port, for the API, schemathesis and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List

import httpx
import psycopg
import pytest
import redis

TOKEN = "test-token-not-secret"
#: Small, so the limit tests need no big bodies.
MAX_UPLOAD = 256 * 1024


@dataclass
class Server:
    url: str
    token: str
    log: Path
    pid: int

    def headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(tmp: Path, extra: List[str]) -> Iterator[Server]:
    port = _free_port()
    log = tmp / "serve.log"
    env = dict(os.environ, STOQ_HOME=str(tmp / "no-home"), STOQ_API_TOKEN=TOKEN)
    command = [
        str(Path(sys.executable).parent / "stoq"), "serve", "--port", str(port),
        "--max-upload", str(MAX_UPLOAD), "--consumers", "2", *extra,
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"stoq serve exited {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"stoq serve did not start in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(url, TOKEN, log, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The default profile, plus the test plugin that kills its process on demand."""
    yield from start_server(tmp_path_factory.mktemp("serve"), [])


REDIS_URL = os.environ.get("STOQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get("STOQ_TEST_POSTGRES_DSN", "host=127.0.0.1 dbname=test user=postgres")


@pytest.fixture(scope="module")
def cluster_opts() -> Iterator[List[str]]:
    tag = uuid.uuid4().hex[:10]
    stream, schema = f"stoq-serve-test:{tag}:work", f"stoq_serve_{tag}"
    opts = [
        f"redis:url={REDIS_URL}", f"redis:stream={stream}",
        f"redis:results_key_prefix=stoq-serve-test:{tag}:result:",
        f"postgres:dsn={POSTGRES_DSN}", f"postgres:schema={schema}",
    ]  # fmt: skip
    yield [arg for opt in opts for arg in ("--plugin-opts", opt)]
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"stoq-serve-test:{tag}:*"):
        client.delete(key)
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(scope="module")
def front(cluster_opts: List[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    extra = ["--submit-to", "redis", "--results-from", "postgres", *cluster_opts]
    yield from start_server(tmp_path_factory.mktemp("front"), extra)


@pytest.fixture(scope="module")
def node(cluster_opts: List[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One scanning node of the cluster: run mode reading the stream, saving into PostgreSQL."""
    home = tmp_path_factory.mktemp("node")
    command = [str(Path(sys.executable).parent / "stoq"), "run", "-P", "redis", "-C", "postgres",
               "--consumers", "1", *cluster_opts]  # fmt: skip
    with open(home / "node.log", "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, STOQ_HOME=str(home))
        )
    try:
        yield
    finally:
        process.terminate()
        process.wait(60)
