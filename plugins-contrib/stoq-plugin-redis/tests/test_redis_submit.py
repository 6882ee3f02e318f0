"""Submitting work: inline or by reference, a backlog limit, waiting for results; the
archiver and connector roles; ACL users and TLS settings."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Dict

import pytest
import redis
from test_redis_provider import _result, _run

from stoq import Stoq
from stoq_plugin_redis.connection import connect
from stoq_plugin_redis.submit import BacklogFull, Submitter, main, wait_for_results


def test_submit_refuses_to_grow_the_stream_past_the_backlog(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """At max_backlog entries not yet saved, submit raises and adds nothing (nothing trimmed)."""
    submitter = Submitter({**opts, "max_backlog": 2})
    first, second = submitter.submit(b"1"), submitter.submit(b"2")
    with pytest.raises(BacklogFull, match="max_backlog"):
        submitter.submit(b"3")
    ids = [entry_id.decode() for entry_id, _ in client.xrange(opts["stream"])]
    assert ids == [first.entry_id, second.entry_id]


def test_a_large_payload_travels_as_an_archiver_task_and_keeps_its_name(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """Above inline_max the bytes go to the archiver; the node's get() brings them back."""
    big = bytes(range(256)) * 40
    submitter = Submitter({**opts, "inline_max": 1000, "archiver": "redis", "archiver_opts": opts})
    item = submitter.submit(big, {"filename": "big.bin"})
    [(_, fields)] = client.xrange(opts["stream"])
    assert b"content" not in fields
    task = json.loads(fields[b"task"])["redis"]
    assert client.get(task["key"]) == big
    _run(opts, source_archivers=["redis"])
    [root] = _result(client, opts, item.scan_id)["results"]
    assert root["size"] == len(big)
    assert root["payload_meta"]["extra_data"] == {"filename": "big.bin"}


def test_a_large_payload_without_an_archiver_is_refused(opts: Dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="no archiver is configured"):
        Submitter({**opts, "inline_max": 4}).submit(b"too large")


def test_a_missing_stored_payload_is_an_error_response(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """A reference whose payload expired: the node saves an error, the queue retries it."""
    submitter = Submitter({**opts, "inline_max": 1, "archiver": "redis", "archiver_opts": opts})
    item = submitter.submit(b"expires", {"filename": "gone.txt"})
    for key in client.scan_iter(match=f"{opts['payload_prefix']}*"):
        client.delete(key)
    stoq = Stoq(
        providers=["redis"],
        source_archivers=["redis"],
        connectors=["redis"],
        consumers=1,
        plugin_opts={"redis": {**opts, "stop_when_idle": 0.0}},
    )
    import threading
    import time

    runner = threading.Thread(target=stoq.run)
    runner.start()
    key = f"{opts['results_key_prefix']}{item.scan_id}"
    end = time.monotonic() + 10
    while client.get(key) is None and time.monotonic() < end:
        time.sleep(0.05)
    stoq.stop()
    runner.join(10)
    stoq.close()
    [error] = json.loads(client.get(key))["errors"]
    assert "LookupError" in error["error"] and "expired or never stored" in error["error"]
    assert client.xpending(opts["stream"], opts["group"])["pending"] == 1


def test_the_command_submits_files_and_waits_for_their_responses(
    client: redis.Redis, opts: Dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``python -m stoq_plugin_redis.submit`` prints one JSON line per file."""
    files = []
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(name.encode() * 3)
        files.append(str(tmp_path / name))
    args = [*files, "--url", opts["url"], "--stream", opts["stream"]]
    assert main(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == ["a.txt", "b.txt"]
    _run(opts)
    found = wait_for_results([line["scan_id"] for line in lines], opts, timeout=5)
    assert sorted(r["results"][0]["size"] for r in found.values()) == [15, 15]


def test_the_installed_command_submits_and_exits_1_when_the_backlog_is_full(
    client: redis.Redis, opts: Dict[str, Any], tmp_path: Path
) -> None:
    """``stoq-redis-submit``, the console script the distribution installs."""
    import os
    import shutil
    import subprocess
    import sys

    command = shutil.which("stoq-redis-submit", path=os.path.dirname(sys.executable))
    assert command, "stoq-redis-submit is not installed beside this interpreter"
    (tmp_path / "one.txt").write_bytes(b"one")
    args = [command, str(tmp_path / "one.txt"), "--url", opts["url"], "--stream", opts["stream"]]
    done = subprocess.run([*args, "--max-backlog", "1"], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["file"] == "one.txt"
    full = subprocess.run([*args, "--max-backlog", "1"], capture_output=True, text=True)
    assert full.returncode == 1 and "max_backlog" in full.stderr
    assert client.xlen(opts["stream"]) == 1


def test_the_command_reports_a_full_backlog(
    opts: Dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "x").write_bytes(b"x")
    args = [str(tmp_path / "x")] * 3 + ["--url", opts["url"], "--stream", opts["stream"]]
    assert main([*args, "--max-backlog", "2"]) == 1
    assert "max_backlog" in capsys.readouterr().err


def test_archive_stores_once_and_get_checks_the_hash(
    client: redis.Redis, opts: Dict[str, Any]
) -> None:
    """Content-addressed: a second archive of the same bytes does not rewrite the key."""
    stoq = Stoq(plugin_opts={"redis": opts})
    plugin = stoq.load_plugin("redis")
    from stoq import Payload, RequestMeta

    task = plugin.archive(Payload(b"same"), RequestMeta()).results
    ttl = client.ttl(task["key"])
    assert 0 < ttl <= 7 * 24 * 3600
    client.persist(task["key"])
    plugin.archive(Payload(b"same"), RequestMeta())
    assert client.ttl(task["key"]) == -1  # untouched: SET NX did not write again
    assert plugin.get(task).content == b"same"
    client.set(task["key"], b"tampered")
    with pytest.raises(ValueError, match="does not match its SHA-256"):
        plugin.get(task)
    with pytest.raises(ValueError, match="is not"):
        plugin.get("../etc/passwd")
    stoq.close()


def test_results_keys_expire_after_results_ttl(client: redis.Redis, opts: Dict[str, Any]) -> None:
    stoq = Stoq(connectors=["redis"], plugin_opts={"redis": {**opts, "results_ttl": 120}})
    response = stoq.scan(b"kept two minutes")
    ttl = client.ttl(f"{opts['results_key_prefix']}{response.scan_id}")
    assert 0 < ttl <= 120
    stoq.close()


@pytest.fixture
def acl_user(client: redis.Redis, opts: Dict[str, Any]) -> Any:
    """A Redis ACL user allowed only this test's keys."""
    name, password = f"stoq-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    prefix = opts["stream"].rsplit(":", 1)[0]
    client.execute_command(
        "ACL", "SETUSER", name, "on", f">{password}", f"~{prefix}:*", "+@all", "-@dangerous"
    )
    yield name, password
    client.execute_command("ACL", "DELUSER", name)


def test_an_acl_user_with_a_password_can_submit_and_scan(
    client: redis.Redis, opts: Dict[str, Any], acl_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """username/password from options or the environment; a wrong password fails loudly."""
    name, password = acl_user
    monkeypatch.setenv("STOQ_REDIS_PASSWORD", password)
    item = Submitter({**opts, "username": name}).submit(b"authenticated")
    _run({**opts, "username": name})
    assert _result(client, opts, item.scan_id)["errors"] == []
    with pytest.raises(redis.AuthenticationError):
        connect({**opts, "username": name, "password": "wrong"}).ping()
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
        connect({**opts, "username": name}).set("outside-the-prefix", b"x")


def test_tls_certificates_need_a_rediss_url(opts: Dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not rediss://"):
        connect({**opts, "ssl_ca_certs": "/etc/ssl/certs/ca-certificates.crt"})
