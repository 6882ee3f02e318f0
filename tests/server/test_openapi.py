"""A property-based run of the OpenAPI document against the running server (schemathesis).

Every operation is called with generated requests (bodies, form fields, query strings; valid
and invalid, in every phase schemathesis has): no response may be a server error, and every
response must match the document — status code, content type, headers and body schema (a
scan's body is the core's own response schema) — and valid requests must be accepted. Run through schemathesis's command line, the
interface its project keeps stable across pytest releases.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Server


@pytest.mark.parametrize("which", ["server", "front"])
def test_the_api_keeps_its_document(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The plain server, and one with a queue (Redis) and a results store (PostgreSQL)."""
    server: Server = request.getfixturevalue(which)
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run",
        f"{server.url}/api/v1/openapi.json",
        "--checks", "all",
        # Form fields and query strings are text: "123" is a valid filename, and an empty
        # repeated field is no field. Requests "of the wrong type" there cannot be told from
        # valid ones, so rejecting them is not asked; every other check runs.
        "--exclude-checks", "negative_data_rejection",
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
