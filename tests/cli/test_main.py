"""The ``stoq`` command as a whole: --version, --help with examples, usage errors."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

import stoq
from stoq.cli import START_THRESHOLD, build_parser, main

COMMANDS = ["scan", "run", "list", "install", "config"]


def test_version(run_stoq):
    result = run_stoq("--version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"stoq {stoq.__version__} ")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(run_stoq, command):
    result = run_stoq(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: stoq {command}")
    assert "examples:" in result.stdout and f"stoq {command}" in result.stdout.split("examples:")[1]


def test_top_level_help_documents_exit_codes(run_stoq):
    result = run_stoq("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
    assert "exit status:" in result.stdout and "2    usage or configuration error" in result.stdout


def test_no_command_prints_help_and_exits_2(run_stoq):
    result = run_stoq()
    assert result.returncode == 2
    assert "usage: stoq" in result.stderr


def test_bad_flag_value_is_a_usage_error(run_stoq):
    result = run_stoq("scan", "-j", "zero", "x")
    assert result.returncode == 2
    assert "expected a whole number >= 1, got 'zero'" in result.stderr


def test_unknown_profile_is_a_usage_error(run_stoq, tmp_path):
    (tmp_path / "f").write_text("x")
    result = run_stoq("scan", "--profile", "nosuch", tmp_path / "f")
    assert result.returncode == 2
    assert "profile 'nosuch' does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_plugin_dir_is_a_usage_error(run_stoq, tmp_path):
    (tmp_path / "f").write_text("x")
    result = run_stoq("scan", "--plugin-dir", tmp_path / "nowhere", tmp_path / "f")
    assert result.returncode == 2
    assert "plugin folder" in result.stderr and "nowhere" in result.stderr


def test_main_returns_the_exit_code_in_process(capsys):
    assert main(["config", "--profile", "nosuch"]) == 2
    assert "profile 'nosuch' does not exist" in capsys.readouterr().err


def test_parser_builds_for_the_docs():
    parser = build_parser()
    assert parser.prog == "stoq"


def _subcommand_help(parser: argparse.ArgumentParser, command: str) -> str:
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return subparsers.choices[command].format_help()


@pytest.mark.parametrize("command", [*COMMANDS, "serve", "new-plugin"])
def test_a_command_built_alone_parses_and_helps_as_in_the_whole_parser(command):
    """``stoq scan ...`` builds the scan subcommand only; its help is the same."""
    alone, whole = build_parser(command), build_parser()
    assert _subcommand_help(alone, command) == _subcommand_help(whole, command)


def test_scan_imports_no_other_command():
    """``stoq scan`` does not import run, serve, install or new-plugin (nor what they use)."""
    code = (
        "import sys; from stoq.cli import main; main(['scan', '--help']);"
        "print(sorted(m for m in sys.modules if m.startswith('stoq.cli.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported = done.stdout.splitlines()[-1]
    for other in ("run", "serve", "install", "new_plugin", "listing", "config"):
        assert f"'stoq.cli.{other}'" not in imported
    assert "'stoq.cli.scan'" in imported


def test_console_script_is_installed():
    path = shutil.which("stoq", path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"no 'stoq' console script beside {sys.executable}")
    result = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("stoq ")


#: Modules a scan of a small text file does without (~10 % of its instructions on Python 3.11:
#: ``pathlib`` imports ``urllib.parse``, which imports ``ipaddress``; ``logging``, with
#: ``traceback``, ~8 % more, when nothing is logged; ``typing`` ~5 %).
UNNEEDED = ("datetime", "pathlib", "urllib.parse", "ipaddress", "logging", "traceback", "typing")


def _scan_watching_the_collector(arguments, entry: str) -> str:
    """Run ``stoq scan`` through ``entry`` in a new process; for each request (in whichever
    process runs it) print whether the collector was on, its first threshold and whether
    start-up's objects are frozen (more than at the start: Python 3.12 starts with some), then
    at exit whether anything is frozen and which of the modules a small scan does without
    were imported."""
    code = (
        "import atexit, gc, sys; import stoq.cli, stoq.cli.jobs as jobs;"
        "frozen_before = gc.get_freeze_count();"
        "real = jobs.scan_one;"
        "jobs.scan_one = lambda *a: print('request', gc.isenabled(), gc.get_threshold()[0],"
        " gc.get_freeze_count() > frozen_before, file=sys.stderr, flush=True) or real(*a);"
        "atexit.register(lambda: print('exit', gc.get_freeze_count() > frozen_before,"
        f" [m for m in {UNNEEDED!r} if m in sys.modules], file=sys.stderr));"
        f"sys.argv = ['stoq', 'scan', '--jsonl', *{[str(a) for a in arguments]!r}];"
        f"{entry}"
    )
    home = Path(arguments[-1]).parent / "no-stoq-home"  # no configuration file to read
    env = {**os.environ, "STOQ_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"scan_id"') == 2
    watched = ("request ", "exit ")
    return "; ".join(line for line in done.stderr.splitlines() if line.startswith(watched))


def _two_files(folder: Path) -> List[Path]:
    paths = [folder / "a.txt", folder / "b.txt"]
    for path in paths:
        path.write_text("hello\n")
    return paths


def test_the_command_collects_garbage_only_once_start_up_is_over(tmp_path):
    """``stoq`` (``console``) imports its modules with the cyclic collector off, freezes them
    before the command runs, collects rarely while the first request loads the plugins, and
    as usual from the second on. A small scan imports none of ``UNNEEDED`` either."""
    watched = _scan_watching_the_collector(_two_files(tmp_path), "stoq.cli.console()")
    usual = gc.get_threshold()[0]
    assert (
        watched == f"request True {START_THRESHOLD} True; request True {usual} True; exit True []"
    )


def test_consumers_collect_garbage_from_their_first_request(tmp_path):
    """``scan -j 2``: the collector is back on before the consumers fork."""
    arguments = ["-j", "2", *_two_files(tmp_path)]
    watched = _scan_watching_the_collector(arguments, "stoq.cli.console()")
    usual = gc.get_threshold()[0]
    assert watched.startswith(f"request True {usual} True; request True {usual} True; exit True ")


def test_main_called_by_a_host_leaves_its_collector_alone(tmp_path):
    """A program calling ``main`` keeps the collector as it set it: on, nothing frozen."""
    entry = "sys.exit(stoq.cli.main(sys.argv[1:]))"
    watched = _scan_watching_the_collector(_two_files(tmp_path), entry)
    usual = gc.get_threshold()[0]
    assert watched == f"request True {usual} False; request True {usual} False; exit False []"
