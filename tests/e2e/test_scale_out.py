"""End to end, the way an operator runs it (SPEC §5.5, issue 12): two ``stoq run`` processes
standing for two machines consume one Redis stream; payloads travel inline or through S3
(``moto_server``, a real S3-compatible HTTP server started here); responses land in
PostgreSQL. One process is killed with SIGKILL while it holds pending work: the survivor
claims it. A poison file that kills its consumer every time ends in the dead-letter stream
with an error row. At the end every file has exactly one row and every payload is in S3.

Needs the local Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, database ``test``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import boto3.session
import psycopg
import pytest
import redis

from stoq_plugin_redis.submit import Submitter

REDIS_URL = os.environ.get("STOQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get("STOQ_TEST_POSTGRES_DSN", "host=127.0.0.1 dbname=test user=postgres")
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "stoq-test",
    "AWS_SECRET_ACCESS_KEY": "stoq-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
INLINE_MAX = 2048
FILES = 30
POISON = b"crash: this file kills whichever consumer scans it\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    port = _free_port()
    script = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    command = [script] if script else [sys.executable, "-m", "moto.server"]
    server = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _until(lambda: _listening(port) or server.poll() is not None, 30, "moto_server")
        assert server.poll() is None, "moto_server exited"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def cluster(s3_endpoint: str, tmp_path: Path) -> Iterator[Dict[str, Any]]:
    """This test's stream prefix, schema and bucket, and a stoq.toml for the scanning nodes."""
    tag = uuid.uuid4().hex[:10]
    prefix, schema, bucket = f"stoq-e2e:{tag}:", f"stoq_e2e_{tag}", f"stoq-e2e-{tag}"
    s3 = boto3.session.Session().client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    config = tmp_path / "stoq.toml"
    config.write_text(
        f"""
[core]
providers = ["redis"]
source_archivers = ["s3"]
dest_archivers = ["s3"]
connectors = ["postgres"]
always_dispatch = ["crash_worker", "sleep_worker"]
consumers = 2
max_queue = 2

[plugins.redis]
url = "{REDIS_URL}"
stream = "{prefix}work"
claim_idle = 2.0
claim_every = 0.25
read_block = 0.2
max_deliveries = 2

[plugins.s3]
bucket = "{bucket}"
endpoint_url = "{s3_endpoint}"

[plugins.postgres]
dsn = "{POSTGRES_DSN}"
schema = "{schema}"

[plugins.sleep_worker]
seconds = 0.15
""",
        encoding="utf-8",
    )
    client = redis.Redis.from_url(REDIS_URL)
    db = psycopg.connect(POSTGRES_DSN, autocommit=True)
    yield {
        "config": config,
        "redis": client,
        "db": db,
        "s3": s3,
        "bucket": bucket,
        "schema": schema,
        "submit": {
            "url": REDIS_URL,
            "stream": f"{prefix}work",
            "inline_max": INLINE_MAX,
            "archiver": "s3",
            "archiver_opts": {"bucket": bucket, "endpoint_url": s3_endpoint},
        },
    }
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    db.close()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


def _node(config: Path, log: Path) -> subprocess.Popen:
    """One scanning machine: ``stoq run`` in its own process group."""
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "stoq", "run", "--config", str(config), "--profile", "none"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )


def _rows(cluster: Dict[str, Any]) -> Dict[str, Any]:
    try:
        rows = cluster["db"].execute(
            f"SELECT scan_id, sha256, errors, response FROM {cluster['schema']}.stoq_responses"
        )
        return {row[0]: row for row in rows.fetchall()}
    except psycopg.errors.UndefinedTable:
        return {}


def _pending_of(client: redis.Redis, stream: str, pid: int) -> List[str]:
    consumer = f"{socket.gethostname()}:{pid}"
    entries = client.xpending_range(stream, "stoq", "-", "+", 1000, consumername=consumer)
    return [e["message_id"].decode() for e in entries]


def test_a_machine_killed_mid_scan_loses_nothing_and_duplicates_nothing(
    cluster: Dict[str, Any], tmp_path: Path
) -> None:
    stream = cluster["submit"]["stream"]
    client: redis.Redis = cluster["redis"]
    files = [(b"file %03d " % i) * (3 if i % 3 else 400) for i in range(FILES)]  # some > 2 KiB
    submitter = Submitter(cluster["submit"])
    sent = [
        submitter.submit(content, {"filename": f"f{i:03d}.bin"}) for i, content in enumerate(files)
    ]
    poison = submitter.submit(POISON, {"filename": "poison.doc"})
    by_reference = [s for s, c in zip(sent, files) if len(c) > INLINE_MAX]
    assert by_reference and len(by_reference) < FILES

    doomed = _node(cluster["config"], tmp_path / "a.log")
    survivor = _node(cluster["config"], tmp_path / "b.log")
    try:
        held = _until(
            lambda: len(_rows(cluster)) >= 4 and _pending_of(client, stream, doomed.pid),
            40,
            "machine A to save rows and hold pending work",
        )
        os.killpg(doomed.pid, signal.SIGKILL)  # the whole machine: provider and consumers
        doomed.wait(10)
        expected = {s.scan_id for s in sent} | {poison.scan_id}
        _until(lambda: set(_rows(cluster)) == expected, 45, "a row for every file")
        _until(lambda: client.xlen(stream) == 0, 10, "the stream to drain")
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) in (0, 1)  # 1: the poison's consumer deaths are reported
    finally:
        for node in (doomed, survivor):
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait(10)

    rows = _rows(cluster)
    assert set(rows) == expected  # exactly one row per submitted file: nothing lost or added
    from stoq_plugin_redis.wire import scan_id_for

    claimed = {scan_id_for(stream, entry_id) for entry_id in held}
    assert claimed <= set(rows)  # what machine A held was finished by machine B
    for item, content in zip(sent, files):
        _, sha256, errors, response = rows[item.scan_id]
        digest = hashlib.sha256(content).hexdigest()
        assert (sha256, errors) == (digest, 0), response["errors"]
        assert response["results"][0]["payload_meta"]["extra_data"]["filename"] == item.name
        key = f"payloads/{digest[:2]}/{digest}"
        assert cluster["s3"].get_object(Bucket=cluster["bucket"], Key=key)["Body"].read() == content

    _, _, errors, response = rows[poison.scan_id]
    assert errors == 1 and response["results"] == []
    [error] = response["errors"]
    assert "delivered 3 times (max_deliveries 2)" in error["error"]
    assert "consumer process died (exit code -9)" in error["error"]
    [(_, dead)] = client.xrange(f"{stream}:dead")
    assert dead[b"content"] == POISON and dead[b"dead_entry_id"].decode() == poison.entry_id
    assert client.xpending(stream, "stoq")["pending"] == 0
