"""``stoq scan``: inputs, output formats, exit codes and the messages for bad input."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import json_lines

NO_PROFILE = ["--profile", "none"]


def _filenames(responses):
    return [r["results"][0]["payload_meta"]["extra_data"].get("filename") for r in responses]


def test_scans_one_file_and_records_its_name_as_a_string(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, "-a", "simple_worker", samples / "a.txt")
    assert result.returncode == 0, result.stderr
    [response] = json_lines(result.stdout)
    root = response["results"][0]
    assert root["payload_meta"]["extra_data"]["filename"] == str(samples / "a.txt")
    assert root["workers"][0]["simple_worker"] == {"size": (samples / "a.txt").stat().st_size}
    assert response["errors"] == []


def test_folder_without_r_scans_only_its_own_files_in_order(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, "-a", "simple_worker", samples)
    assert result.returncode == 0, result.stderr
    assert _filenames(json_lines(result.stdout)) == [
        str(samples / n) for n in ("a.txt", "b.bin", "c.zip")
    ]


def test_folder_with_r_scans_the_whole_tree_in_sorted_order(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, "-r", "-a", "simple_worker", samples)
    assert result.returncode == 0, result.stderr
    assert _filenames(json_lines(result.stdout)) == [
        str(samples / p) for p in ("a.txt", "b.bin", "c.zip", "nested/d.txt", "nested/deeper/e.txt")
    ]


def test_stdin_is_scanned_with_dash(run_stoq):
    result = run_stoq("scan", *NO_PROFILE, "-a", "simple_worker", "-", input=b"from a pipe")
    assert result.returncode == 0, result.stderr
    [response] = json_lines(result.stdout)
    assert response["results"][0]["workers"][0]["simple_worker"] == {"size": len(b"from a pipe")}
    assert "filename" not in response["results"][0]["payload_meta"]["extra_data"]


def test_missing_path_is_a_usage_error_on_one_line(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, samples / "a.txt", samples / "missing.doc")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no such file or folder" in lines[0] and "missing.doc" in lines[0]


def test_unknown_plugin_names_it_and_lists_close_matches(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, "-a", "simple_workr", samples / "a.txt")
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "'simple_workr'" in line and "-a/--always-dispatch" in line
    assert "close matches: simple_worker" in line


def test_unknown_plugin_in_plugin_opts_is_caught_too(run_stoq, samples: Path):
    result = run_stoq(
        "scan", *NO_PROFILE, "--plugin-opts", "optons_worker:level=2", samples / "a.txt"
    )
    assert result.returncode == 2
    assert "'optons_worker'" in result.stderr and "options_worker" in result.stderr


def test_plugin_that_raises_gives_exit_1_and_the_error_in_json(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, "-a", "raise_worker,simple_worker", samples / "a.txt")
    assert result.returncode == 1
    [response] = json_lines(result.stdout)
    [error] = response["errors"]
    assert error["plugin_name"] == "raise_worker" and error["stage"] == "scan"
    assert error["error"].startswith("RuntimeError: raise_worker always fails")
    assert "simple_worker" in response["results"][0]["workers"][0]
    assert "Traceback" not in result.stderr


def test_debug_log_level_shows_the_traceback(run_stoq, samples: Path):
    result = run_stoq(
        "scan", *NO_PROFILE, "-a", "raise_worker", "--log-level", "debug", samples / "a.txt"
    )
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr


def test_failing_connector_gives_exit_1_with_the_response_printed(run_stoq, samples: Path):
    result = run_stoq(
        "scan", *NO_PROFILE, "-a", "simple_worker", "-C", "failing_connector", samples / "a.txt"
    )
    assert result.returncode == 1
    [response] = json_lines(result.stdout)
    assert response["errors"] == []
    assert "failing_connector" in result.stderr and "disk full" in result.stderr


def test_jsonl_gives_one_parseable_line_per_request(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, "--jsonl", "-r", "-a", "extract_worker", samples)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    responses = [json.loads(line) for line in lines]
    deepest = responses[4]["results"]
    assert [r["extracted_by"] for r in deepest] == [None, "extract_worker"]


def test_pretty_output_is_indented_json(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, "--pretty", "-a", "simple_worker", samples / "a.txt")
    assert result.returncode == 0
    assert result.stdout.startswith("{\n  ")
    assert json.loads(result.stdout)["results"][0]["workers"][0]["simple_worker"]["size"] > 0


def _without_ids_and_times(response):
    text = json.dumps(response)
    ids = {r["payload_id"] for r in response["results"]} | {response["scan_id"]}
    for value in ids:
        text = text.replace(value, "<id>")
    stripped = json.loads(text)
    stripped.pop("time")
    stripped.pop("timings")  # seconds differ run to run; which plugins ran is kept below
    for result in stripped["results"]:
        result["timings"] = {stage: sorted(s) for stage, s in result["timings"].items()}
    return stripped


def test_parallel_jobs_give_the_same_results_in_the_same_order(run_stoq, samples: Path):
    args = ["scan", *NO_PROFILE, "-r", "-a", "extract_worker,simple_worker,raise_worker", samples]
    serial = run_stoq(*args, "-j", "1")
    parallel = run_stoq(*args, "-j", "2")
    assert serial.returncode == parallel.returncode == 1
    one, two = json_lines(serial.stdout), json_lines(parallel.stdout)
    assert len(one) == 5
    assert [_without_ids_and_times(r) for r in one] == [_without_ids_and_times(r) for r in two]


def test_typed_plugin_opts_and_request_metadata(run_stoq, samples: Path):
    result = run_stoq(
        "scan",
        *NO_PROFILE,
        "-a",
        "options_worker",
        "--plugin-opts",
        "options_worker:level=7",
        "--plugin-opts",
        "options_worker:pattern=a=b:c",
        "--plugin-opts",
        "options_worker:strict=true",
        "--request-source",
        "triage",
        "--request-extra",
        "ticket=INC-42",
        "--request-extra",
        "priority=2",
        samples / "a.txt",
    )
    assert result.returncode == 0, result.stderr
    [response] = json_lines(result.stdout)
    opts = response["results"][0]["workers"][0]["options_worker"]["plugin_opts"]
    assert opts == {"colour": "blue", "level": 7, "pattern": "a=b:c", "strict": True}
    assert response["request_meta"]["source"] == "triage"
    assert response["request_meta"]["extra_data"] == {"ticket": "INC-42", "priority": 2}


def test_plugin_lists_accept_repeated_flags_and_commas(run_stoq, samples: Path):
    result = run_stoq(
        "scan",
        *NO_PROFILE,
        "-a",
        "second_worker",
        "-a",
        "simple_worker,options_worker",
        samples / "a.txt",
    )
    assert result.returncode == 0, result.stderr
    [response] = json_lines(result.stdout)
    assert response["results"][0]["plugins_run"]["workers"] == [
        ["second_worker", "simple_worker", "options_worker"]
    ]


def test_malformed_plugin_opts_says_what_is_expected(run_stoq, samples: Path):
    result = run_stoq("scan", *NO_PROFILE, "--plugin-opts", "levelonly", samples / "a.txt")
    assert result.returncode == 2
    assert "NAME:KEY=VALUE" in result.stderr and "'levelonly'" in result.stderr


def test_config_file_in_stoq_home_is_used_and_flags_beat_it(
    run_stoq, stoq_home: Path, samples: Path
):
    stoq_home.mkdir()
    (stoq_home / "stoq.toml").write_text(
        '[core]\nalways_dispatch = ["second_worker"]\n[plugins.options_worker]\nlevel = 3\n'
    )
    from_file = json_lines(run_stoq("scan", *NO_PROFILE, samples / "a.txt").stdout)[0]
    assert from_file["results"][0]["plugins_run"]["workers"] == [["second_worker"]]
    flagged = json_lines(
        run_stoq("scan", *NO_PROFILE, "-a", "options_worker", samples / "a.txt").stdout
    )[0]
    assert flagged["results"][0]["workers"][0]["options_worker"]["plugin_opts"]["level"] == 3
    assert flagged["results"][0]["plugins_run"]["workers"] == [["options_worker"]]


def test_invalid_config_file_is_exit_2_naming_file_and_key(run_stoq, tmp_path: Path, samples: Path):
    config = tmp_path / "bad.toml"
    config.write_text("[core]\nmax_recursion = 'deep'\n")
    result = run_stoq("scan", "--config", config, samples / "a.txt")
    assert result.returncode == 2
    assert (
        str(config) in result.stderr
        and "max_recursion" in result.stderr
        and "whole number" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_plugin_folder_flag_loads_v2_plugins(run_stoq, samples: Path):
    folder = Path(__file__).resolve().parents[2] / "core" / "tests" / "v2-plugins"
    result = run_stoq(
        "scan", *NO_PROFILE, "--plugin-dir", folder, "-a", "folder_worker", samples / "a.txt"
    )
    assert result.returncode == 0, result.stderr
    [response] = json_lines(result.stdout)
    assert (
        response["results"][0]["workers"][0]["folder_worker"]["greeting"]
        == "hello from the .stoq file"
    )


def test_parallel_scan_survives_a_worker_process_that_dies(run_stoq, tmp_path: Path) -> None:
    """-j 2: a file whose scan kills its process gets a response with the error (and a line
    on stderr); every other file is scanned."""
    folder = tmp_path / "crashy"
    folder.mkdir()
    names = ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]
    for name in names:
        (folder / name).write_text(f"ordinary {name}\n")
    (folder / "c.txt").write_text("crash this process\n")
    result = run_stoq("scan", *NO_PROFILE, "--jsonl", "-j", "2", "-a", "crash_worker", folder)
    assert result.returncode == 1
    responses = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(responses) == 5
    lost = responses.pop(2)
    assert lost["results"] == [] and "c.txt" in lost["errors"][0]["error"]
    assert "(exit code -9) in plugin 'crash_worker' (scan)" in lost["errors"][0]["error"]
    assert lost["errors"][0]["plugin_name"] == "crash_worker"
    filenames = [r["results"][0]["payload_meta"]["extra_data"]["filename"] for r in responses]
    assert [Path(f).name for f in filenames] == ["a.txt", "b.txt", "d.txt", "e.txt"]
    assert all(r["errors"] == [] for r in responses)
    assert "c.txt" in result.stderr and "killed its process (exit code -9)" in result.stderr
    assert "died (exit code -9) in plugin 'crash_worker' (scan)" in result.stderr


def test_parallel_scan_names_the_plugin_a_native_crash_happened_in(run_stoq, tmp_path) -> None:
    """-j 2: a plugin that crashes in native code (a segmentation fault) is named in the
    response of the file it killed (exit code -11) and in the log; the consumer's stack, down
    to the plugin's line, is on stderr."""
    (tmp_path / "a.txt").write_text("first\n")
    (tmp_path / "b.txt").write_text("second\n")
    result = run_stoq(
        "scan", *NO_PROFILE, "--jsonl", "-j", "2", "-a", "hostile_worker",
        "--plugin-opts", "hostile_worker:mode=segfault", tmp_path / "a.txt", tmp_path / "b.txt",
    )  # fmt: skip
    assert result.returncode == 1
    responses = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(responses) == 2
    for response in responses:
        [error] = response["errors"]
        assert error["plugin_name"] == "hostile_worker"
        assert "(exit code -11) in plugin 'hostile_worker' (scan)" in error["error"]
    assert "died (exit code -11) in plugin 'hostile_worker' (scan)" in result.stderr
    assert "Fatal Python error: Segmentation fault" in result.stderr
    assert "stoq_test_plugins/hostile.py" in result.stderr


def test_parallel_scan_starts_fork_safe_plugins_once_in_the_parent(run_stoq, tmp_path: Path):
    """-j 2: a fork_safe plugin is started once, before the consumers fork, and every consumer
    (the one that replaces a dead consumer too) scans with that instance; a plugin that is not
    fork_safe is started in each consumer."""
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(8):
        (folder / f"{i}.txt").write_text("crash here\n" if i == 3 else f"file {i}\n")
    workers = "fork_safe_worker,start_pid_worker,crash_worker"
    result = run_stoq("scan", *NO_PROFILE, "--jsonl", "-j", "2", "-a", workers, folder)
    assert result.returncode == 1
    responses = json_lines(result.stdout)
    assert len(responses) == 8 and responses.pop(3)["results"] == []
    found = [r["results"][0]["workers"][0] for r in responses]
    [parent] = {w["fork_safe_worker"]["started_in"] for w in found}
    scanners = {w["fork_safe_worker"]["pid"] for w in found}
    assert parent not in scanners and len(scanners) >= 2
    assert all(w["start_pid_worker"]["started_in"] == w["start_pid_worker"]["pid"] for w in found)
