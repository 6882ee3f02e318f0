"""A property-based run of the OpenAPI document against the running server (schemathesis).

Every operation is called with generated requests (bodies, form fields, query strings; valid
and invalid, in every phase schemathesis has): no response may be a server error, and every
response must match the document — status code, content type, headers and body schema (a
scan's body is the core's own response schema). Run through schemathesis's command line, the
interface its project keeps stable across pytest releases.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import Server


def test_the_api_keeps_its_document(server: Server, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run",
        f"{server.url}/api/v1/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {server.token}",
        "--max-examples", "40",
        "--seed", "1",
        "--generation-deterministic",
        "--request-timeout", "120",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "operations" in report.lower()  # it really ran the operations
