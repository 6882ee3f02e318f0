"""``stoq config``: where each value came from; ``--check`` validates a file precisely."""

from __future__ import annotations

import json
from pathlib import Path


def _write_home_config(stoq_home: Path) -> Path:
    stoq_home.mkdir()
    config = stoq_home / "stoq.toml"
    config.write_text(
        '[core]\nmax_recursion = 4\ndispatchers = ["simple_dispatcher"]\n\n'
        '[plugins.options_worker]\ncolour = "red"\n'
    )
    return config


def test_json_gives_every_value_with_its_source(run_stoq, stoq_home: Path):
    config = _write_home_config(stoq_home)
    result = run_stoq(
        "config",
        "--json",
        "--max-dispatch-passes",
        "3",
        "--plugin-opts",
        "options_worker:level=5",
        "-a",
        "simple_worker",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    core = report["core"]
    assert report["config_file"] == str(config) and report["profile"] == "default"
    assert core["max_recursion"] == {"value": 4, "source": f"file {config}"}
    assert core["dispatchers"] == {"value": ["simple_dispatcher"], "source": f"file {config}"}
    assert core["max_dispatch_passes"] == {"value": 3, "source": "flag --max-dispatch-passes"}
    assert core["always_dispatch"] == {
        "value": ["simple_worker"],
        "source": "flag -a/--always-dispatch",
    }
    assert core["max_payloads"] == {"value": 10000, "source": "default"}
    assert core["deep_dispatchers"]["source"] == "profile default"
    assert report["plugins"]["options_worker"] == {
        "colour": {"value": "red", "source": f"file {config}"},
        "level": {"value": 5, "source": "flag --plugin-opts"},
    }


def test_text_output_names_the_source_on_each_line(run_stoq, stoq_home: Path):
    config = _write_home_config(stoq_home)
    result = run_stoq("config", "--profile", "none", "--max-dispatch-passes", "2")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert lines["max_recursion"].split()[1:] == ["4", "file", str(config)]
    assert lines["max_dispatch_passes"].split()[1:] == ["2", "flag", "--max-dispatch-passes"]
    assert lines["max_queue"].split()[1:] == ["100", "default"]
    assert lines["options_worker.colour"].split()[1:] == ['"red"', "file", str(config)]
    assert lines["profile:"].split()[1] == "none"


def test_without_a_config_file_and_a_missing_stoq_home(run_stoq, stoq_home: Path):
    assert not stoq_home.exists()
    result = run_stoq("config", "--json", "--profile", "none")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["config_file"] is None and report["stoq_home"] == str(stoq_home)
    assert {entry["source"] for entry in report["core"].values()} == {"default"}


def test_check_accepts_a_good_file(run_stoq, stoq_home: Path):
    config = _write_home_config(stoq_home)
    result = run_stoq("config", "--check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{config}: OK"


def test_check_reports_each_problem_precisely(run_stoq, tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text('[core]\nmax_recursion = "deep"\ndispatcher = ["simple_dispatcher"]\n')
    result = run_stoq("config", "--check", "--config", config)
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert (
        f"stoq: error: {config}: [core] max_recursion = 'deep': expected a whole number" in errors
    )
    assert (
        f"stoq: error: {config}: [core] unknown key 'dispatcher'; did you mean 'dispatchers'?"
        in errors
    )


def test_check_reports_plugins_that_are_not_installed(run_stoq, tmp_path: Path):
    config = tmp_path / "stoq.cfg"
    config.write_text("[core]\nalways_dispatch = simple_worker, simple_workr\n")
    result = run_stoq("config", "--check", "--config", config)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "always_dispatch names plugin 'simple_workr', which is not installed" in line
    assert "close matches: simple_worker" in line


def test_check_reports_a_syntax_error_with_the_file_name(run_stoq, tmp_path: Path):
    config = tmp_path / "broken.toml"
    config.write_text("[core\nmax_recursion = 1\n")
    result = run_stoq("config", "--check", "--config", config)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"stoq: error: {config}: not valid TOML")


def test_check_without_any_file_says_what_to_do(run_stoq, stoq_home: Path):
    result = run_stoq("config", "--check")
    assert result.returncode == 2
    assert "no configuration file to check" in result.stderr and "--config" in result.stderr
