"""The ``stoq`` command keeps its promises under hostile plugins, files and locales: every input
gets a JSON response on standard output, nothing else gets there, and exit codes say what
happened (0 clean, 1 errors in some response, 2 configuration or usage, 3 stoq's own bug)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import json_lines

from stoq.cli import main


def _files(tmp_path: Path, *contents: bytes) -> list:
    paths = []
    for index, content in enumerate(contents):
        path = tmp_path / f"f{index}.bin"
        path.write_bytes(content)
        paths.append(path)
    return paths


def test_a_bad_core_option_on_the_command_line_is_exit_2_naming_it(run_stoq, tmp_path):
    [path] = _files(tmp_path, b"abc")
    result = run_stoq(
        "scan", "--profile", "none", "-a", "simple_worker", "--plugin-opts",
        "simple_worker:timeout=abc", path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "plugin 'simple_worker': option 'timeout' = 'abc'" in result.stderr
    assert "expected a positive number of seconds" in result.stderr


def test_unprintable_results_cost_no_file(run_stoq, tmp_path):
    """bytes keys used to make every response unprintable (exit 1, nothing printed)."""
    paths = _files(tmp_path, b"one", b"two")
    result = run_stoq(
        "scan", "--profile", "none", "-a", "hostile_worker", "--plugin-opts",
        "hostile_worker:mode=bytes_keys", *paths,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    responses = json_lines(result.stdout)
    assert len(responses) == 2
    assert responses[0]["results"][0]["workers"][0]["hostile_worker"]["key\\xff"] == "value\\xfe"


def test_sys_exit_in_a_plugin_is_an_error_in_the_response(run_stoq, tmp_path):
    paths = _files(tmp_path, b"one", b"two")
    result = run_stoq(
        "scan", "--profile", "none", "-a", "hostile_worker,simple_worker", "--plugin-opts",
        "hostile_worker:mode=exit", *paths,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    responses = json_lines(result.stdout)
    assert [r["errors"][0]["error"] for r in responses] == ["SystemExit: 7"] * 2


@pytest.mark.parametrize("isolation", ["none", "process"])
def test_plugin_prints_never_reach_the_json_stream(run_stoq, tmp_path, isolation):
    """In this process and in an isolated plugin's child process alike."""
    paths = _files(tmp_path, b"one", b"two")
    result = run_stoq(
        "scan", "--profile", "none", "-a", "hostile_worker", "--plugin-opts",
        "hostile_worker:mode=print", "--plugin-opts", f"hostile_worker:isolation={isolation}",
        *paths,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(json_lines(result.stdout)) == 2
    assert "plugin chatter on stdout" in result.stderr


@pytest.mark.parametrize("isolation", ["none", "process"])
def test_the_stdout_connector_prints_each_response_once(run_stoq, tmp_path, isolation):
    [path] = _files(tmp_path, b"abc")
    result = run_stoq(
        "scan", "--profile", "none", "-a", "simple_worker", "-C", "stdout",
        "--plugin-opts", f"stdout:isolation={isolation}", path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(json_lines(result.stdout)) == 1


@pytest.mark.parametrize(
    "env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}]
)
def test_output_is_utf8_json_whatever_the_locale(stoq_env, tmp_path, env):
    """A file name that is not UTF-8 is escaped; a strict locale aborts nothing."""
    folder = tmp_path / "in"
    folder.mkdir()
    bad = os.path.join(os.fsencode(folder), b"caf\xe9.bin")
    with open(bad, "wb") as handle:
        handle.write(b"data")
    (folder / "plain.bin").write_bytes(b"more")
    (folder / "snowman-\u2603.bin").write_bytes(b"snow")
    result = subprocess.run(
        [sys.executable, "-m", "stoq", "scan", "--profile", "none", "-a", "simple_worker",
         str(folder)],
        capture_output=True, env={**stoq_env, **env}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode("utf-8").splitlines()  # strict: valid UTF-8
    names = sorted(
        Path(json.loads(line)["results"][0]["payload_meta"]["extra_data"]["filename"]).name
        for line in lines
    )
    assert names == ["caf\\xe9.bin", "plain.bin", "snowman-\u2603.bin"]


def test_an_unknown_plugin_in_the_config_file_is_exit_2_under_scan(run_stoq, tmp_path):
    config = tmp_path / "stoq.toml"
    config.write_text('[core]\nalways_dispatch = ["simple_workr"]\n')
    [path] = _files(tmp_path, b"abc")
    result = run_stoq("scan", "--profile", "none", "--config", config, path)
    assert result.returncode == 2
    assert "unknown plugin 'simple_workr'" in result.stderr and result.stdout == ""


def test_config_check_reports_every_problem_in_one_pass(run_stoq, tmp_path):
    config = tmp_path / "stoq.toml"
    config.write_text(
        "[core]\n"
        "max_recursion = 'deep'\n"
        'connectors = ["simple_worker"]\n'
        'always_dispatch = ["no_such_plugin"]\n'
        "[plugins.simple_worker]\n"
        "isolation = 'thread'\n"
    )
    result = run_stoq("config", "--check", "--config", config)
    assert result.returncode == 2
    problems = result.stderr.splitlines()
    assert any("max_recursion" in line for line in problems)
    assert any("'simple_worker', which is not a connector" in line for line in problems)
    assert any("'no_such_plugin', which is not installed" in line for line in problems)
    assert any("option 'isolation' = 'thread'" in line for line in problems)


def test_an_unexpected_error_is_exit_3_not_1(monkeypatch, capsys):
    import stoq.cli.scan

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(stoq.cli.scan, "handle", broken)
    assert main(["scan", "-"]) == 3
    assert "ZeroDivisionError: a bug" in capsys.readouterr().err


def test_dev_zero_is_read_up_to_the_bound_and_reported_cut(run_stoq, tmp_path):
    config = tmp_path / "stoq.toml"
    config.write_text("[core]\nmax_payload_size = 1048576\n")
    started = time.monotonic()
    result = run_stoq(
        "scan", "--profile", "none", "--config", config, "-a", "simple_worker", "/dev/zero"
    )
    assert time.monotonic() - started < 60
    assert result.returncode == 1, result.stderr
    [response] = json_lines(result.stdout)
    assert response["results"][0]["size"] == 1048576
    assert response["errors"][0]["stage"] == "limit"
    assert "input cut at 1048576 bytes" in response["errors"][0]["error"]


def test_a_fifo_and_stdin_are_read_with_the_same_bound(stoq_env, tmp_path):
    config = tmp_path / "stoq.toml"
    config.write_text("[core]\nmax_payload_size = 1000\n")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"yes > {fifo}"])
    try:
        result = subprocess.run(
            [sys.executable, "-m", "stoq", "scan", "--profile", "none", "--config", str(config),
             "-a", "simple_worker", str(fifo), "-"],
            input=b"x" * 5000, capture_output=True, env=stoq_env, timeout=120,
        )  # fmt: skip
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 1, result.stderr
    responses = json_lines(result.stdout.decode())
    assert [r["results"][0]["size"] for r in responses] == [1000, 1000]
    assert all(r["errors"][0]["stage"] == "limit" for r in responses)


def test_with_jobs_a_file_that_kills_its_process_still_gets_a_json_response(run_stoq, tmp_path):
    paths = _files(tmp_path, b"fine", b"crash now", b"fine too")
    result = run_stoq("scan", "--profile", "none", "-a", "crash_worker", "-j", "2", *paths)
    assert result.returncode == 1
    responses = json_lines(result.stdout)
    assert len(responses) == 3
    assert "killed its process" in responses[1]["errors"][0]["error"]
    assert responses[0]["errors"] == [] and responses[2]["errors"] == []


def test_a_provider_task_for_an_archiver_not_configured_is_an_error(run_stoq, tmp_path):
    config = tmp_path / "opts.toml"
    config.write_text('[plugins.multi_role]\nitems = ["task:abc"]\n')
    result = run_stoq(
        "run", "--profile", "none", "--config", config, "-P", "multi_role", "--consumers", "1"
    )
    assert result.returncode == 1
    [response] = json_lines(result.stdout)
    assert "not a configured source archiver" in response["errors"][0]["error"]


def test_isolated_plugin_children_never_hold_the_output_pipe(stoq_env, tmp_path):
    """`stoq scan ... | cat` used to wait for the isolated plugin's own child (600 s)."""
    [path] = _files(tmp_path, b"abc")
    command = [
        sys.executable, "-m", "stoq", "scan", "--profile", "none", "-a", "hostile_worker",
        "--plugin-opts", "hostile_worker:mode=children",
        "--plugin-opts", f"hostile_worker:pid_file={tmp_path / 'pid'}",
        "--plugin-opts", "hostile_worker:isolation=process",
        "--plugin-opts", "hostile_worker:timeout=2", str(path),
    ]  # fmt: skip
    started = time.monotonic()
    pipeline = subprocess.run(
        " ".join(f"'{part}'" for part in command) + " | cat",
        shell=True, capture_output=True, env=stoq_env, timeout=120,
    )  # fmt: skip
    assert time.monotonic() - started < 60
    [response] = json_lines(pipeline.stdout.decode())
    assert response["errors"][0]["stage"] == "timeout"


@pytest.mark.parametrize("size", [0, 999, 1000, 1001, 5000])
def test_read_bounded_gives_at_most_the_bound_from_files_and_streams(tmp_path, size):
    """Exactly the bytes up to the bound, and 'cut' only when there was more, whatever the source."""
    from stoq.cli.jobs import read_bounded

    data = os.urandom(size)
    path = tmp_path / "input"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        from_file = read_bounded(handle, 1000)
    from_stream = read_bounded(io.BufferedReader(io.BytesIO(data)), 1000)
    assert from_file == from_stream == (data[:1000], size > 1000)


def test_read_bounded_holds_a_large_input_once(tmp_path):
    """Peak memory of reading is the content itself, not twice it (chunks joined, or cut)."""
    import tracemalloc

    from stoq.cli.jobs import read_bounded

    size = 32 * 1024 * 1024
    path = tmp_path / "large"
    path.write_bytes(os.urandom(size))
    for source, limit in (("file", size + 1), ("file", size // 2), ("stream", size + 1)):
        tracemalloc.start()
        with open(path, "rb", buffering=0 if source == "stream" else -1) as raw:
            stream = io.BufferedReader(_Pipe(raw)) if source == "stream" else raw
            content, cut = read_bounded(stream, limit)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(content) == min(size, limit) and cut == (limit < size)
        assert peak < 1.3 * len(content), (source, limit, peak)


class _Pipe(io.RawIOBase):
    """A file seen as a pipe: readable, no file number (so no size to read up front)."""

    def __init__(self, raw):
        self.raw = raw

    def readable(self):
        return True

    def readinto(self, buffer):
        return self.raw.readinto(buffer)
