"""A real ``stoq serve`` process on a free port, for the API, schemathesis and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List

import httpx
import pytest

TOKEN = "test-token-not-secret"
#: Small, so the limit tests need no big bodies.
MAX_UPLOAD = 256 * 1024


@dataclass
class Server:
    url: str
    token: str
    log: Path

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
        yield Server(url, TOKEN, log)
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
