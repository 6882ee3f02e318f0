"""The HTTP API of `stoq serve`, through a real HTTP client against the real server."""

from __future__ import annotations

import io
import json
import socket
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
from conftest import MAX_UPLOAD, Server, start_server

import stoq

SCHEMA = json.loads(
    (Path(stoq.__file__).parent / "schema" / "response.schema.json").read_text(encoding="utf-8")
)
HOSTILE_NAME = "<img src=x onerror=alert(1)>.txt"


def _zip(members: Dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _scan(server: Server, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/scan", headers=server.headers(), timeout=120, **kwargs)


def _is_problem(response: httpx.Response, status: int) -> Dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def test_a_raw_body_is_scanned_with_the_servers_configuration(server: Server) -> None:
    content = Path("/etc/os-release").read_bytes()
    response = _scan(server, content=content, params={"filename": "os-release", "source": "api"})
    assert response.status_code == 200
    body = response.json()
    jsonschema.validate(body, SCHEMA)
    root = body["results"][0]
    assert root["payload_meta"]["extra_data"]["filename"] == "os-release"
    assert body["request_meta"]["source"] == "api"
    assert root["workers"][0]["hash"]["sha256"] == root["sha256"]  # the default profile ran
    assert root["workers"][0]["mimetype"]["mimetype"] == "text/plain"


def test_a_multipart_upload_with_fields_and_an_archive(server: Server) -> None:
    archive = _zip({"a.txt": b"first member\n", HOSTILE_NAME: b"second member\n"})
    response = _scan(
        server,
        files={"file": ("bundle.zip", archive, "application/zip")},
        data={"extra": ["ticket=INC-1", "team=soc"], "source": "mail-gw"},
    )
    assert response.status_code == 200
    body = response.json()
    jsonschema.validate(body, SCHEMA)
    assert body["request_meta"]["extra_data"] == {"ticket": "INC-1", "team": "soc"}
    names = [r["payload_meta"]["extra_data"].get("filename") for r in body["results"]]
    assert names[0] == "bundle.zip" and {"a.txt", HOSTILE_NAME} <= set(names)


def test_start_dispatch_names_the_workers(server: Server) -> None:
    response = _scan(server, content=b"plain words", params={"dispatch": "hash"})
    root = response.json()["results"][0]
    assert root["plugins_run"]["workers"][0][0] == "hash"


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    server: Server,
) -> None:
    host = urlsplit(server.url)
    with socket.create_connection((host.hostname, host.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/scan HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + server.token.encode()
            + b"\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000000\r\n\r\n"
        )
        answer = sock.recv(65536)  # no body was sent at all: the answer comes anyway
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_streamed_body_is_refused_where_it_crosses_the_limit(server: Server) -> None:
    """Chunked, so no length is declared: the server stops reading at the limit."""
    host = urlsplit(server.url)
    chunk = b"A" * 16384
    sent = 0
    with socket.create_connection((host.hostname, host.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/scan HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + server.token.encode()
            + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        answer = b""
        sock.settimeout(0.05)
        while sent < 64 * MAX_UPLOAD and not answer:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                answer = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:  # the server closed the connection after answering
                break
        sock.settimeout(30)
        answer = answer or sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 4 * MAX_UPLOAD  # refused near the limit, never read whole


def test_a_multipart_file_over_the_limit_is_refused(server: Server) -> None:
    response = _scan(server, files={"file": ("big.bin", b"x" * (MAX_UPLOAD + 1))})
    body = _is_problem(response, 413)
    assert str(MAX_UPLOAD) in body["detail"]


def test_the_token_is_required_and_accepted(server: Server) -> None:
    url = f"{server.url}/api/v1/scan"
    missing = httpx.post(url, content=b"data")
    _is_problem(missing, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    _is_problem(httpx.post(url, content=b"data", headers={"Authorization": "Bearer wrong"}), 401)
    _is_problem(httpx.get(f"{server.url}/api/v1/plugins"), 401)
    assert httpx.post(url, content=b"data", headers=server.headers(), timeout=60).status_code == 200
    # Liveness and the API description stay open to probes and clients.
    assert httpx.get(f"{server.url}/api/v1/health").status_code == 200
    assert httpx.get(f"{server.url}/api/v1/openapi.json").status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "title"),
    [
        ({"content": b""}, 400, "Empty upload"),
        ({"files": {"attachment": ("a.txt", b"data")}}, 400, "Unknown form field"),
        ({"data": {"source": "x"}, "files": {"filename": (None, "a.txt")}}, 400, "No file"),
        (
            {
                "content": b"--x\r\nnot a part",
                "headers": {"content-type": "multipart/form-data; boundary=x"},
            },
            400,
            "Malformed multipart body",
        ),
        ({"content": b"x", "headers": {"content-type": "multipart/mixed; boundary=x"}}, 415, None),
        ({"content": b"x", "params": {"extra": "no-equals-sign"}}, 400, "Bad extra field"),
    ],
)
def test_bad_input_is_a_problem_naming_the_cause(
    server: Server, kwargs: Dict[str, Any], status: int, title: str
) -> None:
    headers = {**server.headers(), **kwargs.pop("headers", {})}
    response = httpx.post(f"{server.url}/api/v1/scan", headers=headers, timeout=60, **kwargs)
    body = _is_problem(response, status)
    if title:
        assert body["title"] == title


def test_several_scans_at_once_each_get_their_own_response(server: Server) -> None:
    def one(index: int) -> Dict[str, Any]:
        content = f"document number {index}\n".encode() * (index + 1)
        return dict(_scan(server, content=content, params={"filename": f"doc-{index}.txt"}).json())

    with ThreadPoolExecutor(max_workers=6) as pool:
        bodies = list(pool.map(one, range(6)))
    for index, body in enumerate(bodies):
        root = body["results"][0]
        assert root["payload_meta"]["extra_data"]["filename"] == f"doc-{index}.txt"
        assert root["size"] == len(f"document number {index}\n") * (index + 1)
    assert len({b["scan_id"] for b in bodies}) == 6


def test_a_scan_that_kills_its_consumer_still_gets_a_response(server: Server) -> None:
    response = _scan(server, content=b"crash now", params={"dispatch": "crash_worker"})
    assert response.status_code == 200
    body = response.json()
    jsonschema.validate(body, SCHEMA)
    assert "killed its consumer process" in body["errors"][0]["error"]
    assert "in plugin 'crash_worker' (scan)" in body["errors"][0]["error"]
    assert body["errors"][0]["plugin_name"] == "crash_worker"
    # The pool replaced the consumer: the next scan works.
    assert _scan(server, content=b"fine").json()["results"][0]["size"] == 4


def _children(pid: int) -> List[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_consumers_are_forked_from_the_started_server(tmp_path: Path) -> None:
    """The pool's consumers start before its thread does, so they are forked (inheriting the
    plugins the server started) rather than spawned to import and start everything again."""
    for server in start_server(tmp_path, []):
        assert _scan(server, content=b"hello").json()["results"][0]["size"] == 5
        own = Path(f"/proc/{server.pid}/cmdline").read_bytes()
        commands = [Path(f"/proc/{child}/cmdline").read_bytes() for child in _children(server.pid)]
        assert commands.count(own) == 2, commands  # --consumers 2, both forked
        assert not [c for c in commands if b"multiprocessing" in c], commands


def test_health_and_plugins(server: Server) -> None:
    health = httpx.get(f"{server.url}/api/v1/health").json()
    assert health["status"] == "ok" and health["plugins"]["hash"] == "ok"
    listed = httpx.get(f"{server.url}/api/v1/plugins", headers=server.headers()).json()
    assert {"hash", "yara", "crash_worker"} <= {p["name"] for p in listed}


def test_every_response_has_the_security_headers(server: Server) -> None:
    for response in (
        httpx.get(f"{server.url}/"),
        httpx.get(f"{server.url}/static/app.js"),
        httpx.get(f"{server.url}/no-such-page"),
        httpx.post(f"{server.url}/api/v1/scan", content=b"x"),
    ):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
    assert (
        httpx.get(f"{server.url}/no-such-page").headers["content-type"]
        == "application/problem+json"
    )


def test_the_page_has_no_inline_script(server: Server) -> None:
    page = httpx.get(f"{server.url}/").text
    assert '<script src="/static/app.js" defer></script>' in page
    assert "onclick" not in page and "<script>" not in page
