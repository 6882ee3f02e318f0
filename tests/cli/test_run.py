"""``stoq run``: providers feed requests; SIGINT/SIGTERM finish the request in flight and exit 0."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import json_lines
from conftest import STOQ


def _config(tmp_path: Path, items, extra: str = "") -> Path:
    config = tmp_path / "run.toml"
    config.write_text(
        f'[core]\nproviders = ["multi_role"]\n{extra}\n[plugins.multi_role]\nitems = {json.dumps(items)}\n'
    )
    return config


def test_run_scans_every_provided_item_and_prints_responses(run_stoq, tmp_path: Path):
    config = _config(tmp_path, ["one", "two", "three!"])
    result = run_stoq("run", "--profile", "none", "--config", config, "-a", "simple_worker")
    assert result.returncode == 0, result.stderr
    responses = json_lines(result.stdout)
    sizes = sorted(r["results"][0]["workers"][0]["simple_worker"]["size"] for r in responses)
    assert sizes == [3, 3, 6]


def test_run_without_a_connector_prints_whole_responses_from_every_consumer(
    run_stoq, tmp_path: Path
):
    """With no -C, consumers send responses back and this process prints each as one line."""
    config = _config(tmp_path, [f"item {i:02d}" + "x" * 5000 for i in range(30)])
    result = run_stoq(
        "run", "--profile", "none", "--config", config, "--consumers", "2", "-a", "crash_worker"
    )
    assert result.returncode == 0, result.stderr
    responses = json_lines(result.stdout)
    assert len(responses) == 30
    pids = {r["results"][0]["workers"][0]["crash_worker"]["pid"] for r in responses}
    assert len(pids) == 2


def test_run_with_providers_given_by_flag(run_stoq, tmp_path: Path):
    config = tmp_path / "opts.toml"
    config.write_text('[plugins.multi_role]\nitems = ["x", "task:abc"]\n')
    result = run_stoq(
        "run",
        "--profile",
        "none",
        "--config",
        config,
        "-P",
        "multi_role",
        "-S",
        "multi_role",
        "-a",
        "simple_worker",
        "--request-source",
        "queue",
    )
    assert result.returncode == 0, result.stderr
    responses = json_lines(result.stdout)
    sizes = sorted(r["results"][0]["workers"][0]["simple_worker"]["size"] for r in responses)
    assert sizes == [1, len(b"from archive: abc")]  # consumers answer in any order
    assert {r["request_meta"]["source"] for r in responses} == {"queue"}


def test_run_without_a_provider_is_a_usage_error(run_stoq):
    result = run_stoq("run", "--profile", "none")
    assert result.returncode == 2
    assert "needs a provider" in result.stderr and "-P" in result.stderr


def test_failing_connector_in_consumer_processes_exits_1(run_stoq, tmp_path: Path):
    config = _config(tmp_path, ["one", "two"])
    result = run_stoq(
        "run",
        "--profile",
        "none",
        "--config",
        config,
        "--consumers",
        "2",
        "-C",
        "failing_connector",
    )
    assert result.returncode == 1
    assert "2 connector save failure(s)" in result.stderr


def test_responses_with_errors_in_consumer_processes_exit_1(run_stoq, tmp_path: Path):
    config = _config(tmp_path, ["one", "two", "three"])
    result = run_stoq(
        "run",
        "--profile",
        "none",
        "--config",
        config,
        "--consumers",
        "2",
        "-a",
        "raise_worker",
        "-C",
        "multi_role",
    )
    assert result.returncode == 1
    assert "3 response(s) with errors" in result.stderr
    assert result.stdout == ""  # a connector is configured: nothing is printed


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_finishes_the_request_in_flight_then_exits_cleanly(tmp_path: Path, stoq_env, signum):
    config = _config(tmp_path, [f"item {i}" for i in range(6)])
    proc = subprocess.Popen(
        STOQ
        + [
            "run",
            "--profile",
            "none",
            "--consumers",
            "1",
            "--config",
            str(config),
            "-a",
            "sleep_worker,simple_worker",
            "--plugin-opts",
            "sleep_worker:seconds=1",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=stoq_env,
    )
    try:
        first = proc.stdout.readline()  # request 1 is done
        time.sleep(0.4)  # request 2 (one second of sleep_worker) is now in flight
        proc.send_signal(signum)
        rest, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr.decode()
    responses = json_lines((first + rest).decode())
    assert len(responses) == 2  # the one in flight was finished; no new one was started
    for response in responses:
        assert response["results"][0]["workers"][0]["sleep_worker"] == {"slept": True}
        assert response["results"][0]["workers"][0]["simple_worker"]["size"] == len("item 0")
    assert f"{signal.Signals(signum).name}: finishing the request in flight" in stderr.decode()
    assert "Traceback" not in stderr.decode()


def test_signal_with_two_consumers_finishes_their_requests_and_starts_no_more(
    tmp_path: Path, stoq_env
):
    """Each consumer finishes what it was sent (two items at most); the rest is not started."""
    config = _config(tmp_path, [f"item {i}" for i in range(8)])
    command = ["run", "--profile", "none", "--consumers", "2", "--config", str(config)]
    command += ["-a", "sleep_worker", "--plugin-opts", "sleep_worker:seconds=1"]
    proc = subprocess.Popen(
        STOQ + command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=stoq_env,
    )
    try:
        first = proc.stdout.readline()
        time.sleep(0.4)
        proc.send_signal(signal.SIGINT)
        rest, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr.decode()
    responses = json_lines((first + rest).decode())
    assert 2 <= len(responses) < 8
    assert all(r["results"][0]["workers"][0]["sleep_worker"] == {"slept": True} for r in responses)
