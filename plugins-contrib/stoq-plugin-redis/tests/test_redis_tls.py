"""TLS for real: a second redis-server started here with a certificate made by openssl, that
requires client certificates; the plugin connects with ``rediss://`` and its TLS options."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import redis

from stoq import Stoq
from stoq_plugin_redis.connection import connect
from stoq_plugin_redis.submit import Submitter


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _sign(folder: Path, name: str, extensions: str) -> None:
    """A key and a certificate for ``name``, signed by the test CA in ``folder``."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
             "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=folder)  # fmt: skip
    (folder / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "1",
             "-extfile", f"{name}.ext", cwd=folder)  # fmt: skip


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """redis-server on a free TLS port (no plain port), client certificates required."""
    folder = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "1", "-subj", "/CN=stoq test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)  # fmt: skip
    # Python 3.13 verifies strictly (X.509 key usage, authority key identifier): give them all.
    usage = "keyUsage=critical,digitalSignature,keyEncipherment\nauthorityKeyIdentifier=keyid\n"
    _sign(folder, "server", f"subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n{usage}")
    _sign(folder, "client", f"extendedKeyUsage=clientAuth\n{usage}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", "0", "--tls-port", str(port),
         "--bind", "127.0.0.1", "--tls-cert-file", "server.pem", "--tls-key-file", "server.key",
         "--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "yes", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    opts = {
        "url": f"rediss://127.0.0.1:{port}/0",
        "ssl_ca_certs": str(folder / "ca.pem"),
        "ssl_certfile": str(folder / "client.pem"),
        "ssl_keyfile": str(folder / "client.key"),
        "stream": "stoq:tls-work",
        "results_key_prefix": "stoq:tls-result:",
        "read_block": 0.1,
        "stop_when_idle": 0.5,
    }
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                connect(opts).ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield opts
    finally:
        server.terminate()
        server.wait(10)


def test_work_flows_over_tls_with_a_client_certificate(tls_server: Dict[str, Any]) -> None:
    item = Submitter(tls_server).submit(b"sent over TLS", {"filename": "tls.txt"})
    stoq = Stoq(providers=["redis"], connectors=["redis"], consumers=1,
                plugin_opts={"redis": tls_server})  # fmt: skip
    stoq.run()
    stoq.close()
    response = json.loads(connect(tls_server).get(f"stoq:tls-result:{item.scan_id}"))
    assert response["results"][0]["size"] == len(b"sent over TLS")


def test_tls_without_the_client_certificate_is_refused(tls_server: Dict[str, Any]) -> None:
    no_cert = {k: v for k, v in tls_server.items() if k not in ("ssl_certfile", "ssl_keyfile")}
    with pytest.raises(redis.ConnectionError):
        connect(no_cert).ping()


def test_tls_with_an_unknown_authority_is_refused(tls_server: Dict[str, Any]) -> None:
    """The server's certificate is checked: the system's CAs do not vouch for it."""
    system_cas = {**tls_server, "ssl_ca_certs": "/etc/ssl/certs/ca-certificates.crt"}
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        connect(system_cas).ping()


def test_a_plain_connection_to_the_tls_port_fails(tls_server: Dict[str, Any]) -> None:
    plain = tls_server["url"].replace("rediss://", "redis://")
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(plain, socket_timeout=2).ping()
