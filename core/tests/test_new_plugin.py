"""``stoq new-plugin``: flags or prompts → the template's files; the same as plain cookiecutter."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from stoq.cli import main
from stoq.cli.new_plugin import add_parser, template_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

pytest.importorskip("cookiecutter", reason="the authoring extra (cookiecutter) is not installed")

FLAGS = [
    "--name", "wordcount", "--role", "worker", "--description", "Counts the words in each payload",
    "--author", "A. Analyst", "--email", "analyst@example.org", "--license", "MIT",
]  # fmt: skip


def run(*argv: str) -> int:
    """Parse like the stoq command does and call the handler directly."""
    parser = argparse.ArgumentParser(prog="stoq")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return int(args.handler(args))


def tree(root: Path) -> Dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_flags_render_the_package_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every file of the package shape is there, named after the plugin."""
    assert run("new-plugin", *FLAGS, "--output-dir", str(tmp_path)) == 0
    project = tmp_path / "stoq-plugin-wordcount"
    assert sorted(tree(project)) == [
        ".cookiecutter.json",
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "src/stoq_plugin_wordcount/__init__.py",
        "src/stoq_plugin_wordcount/plugin.py",
        "tests/data/sample.txt",
        "tests/test_wordcount.py",
    ]
    assert f"created {project}" in capsys.readouterr().out


def test_pyproject_and_answers_record_what_was_asked(tmp_path: Path) -> None:
    """The entry point, licence classifier and recorded answers follow the flags."""
    run("new-plugin", *FLAGS, "--output-dir", str(tmp_path))
    project = tmp_path / "stoq-plugin-wordcount"
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "stoq-plugin-wordcount"
    assert meta["project"]["license"] == "MIT"
    assert "License :: OSI Approved :: MIT License" in meta["project"]["classifiers"]
    assert meta["project"]["authors"] == [{"name": "A. Analyst", "email": "analyst@example.org"}]
    assert meta["project"]["entry-points"]["stoq.plugins"] == {
        "wordcount": "stoq_plugin_wordcount.plugin:WordcountPlugin"
    }
    assert json.loads((project / ".cookiecutter.json").read_text()) == {
        "plugin_name": "wordcount",
        "roles": "worker",
        "description": "Counts the words in each payload",
        "author": "A. Analyst",
        "email": "analyst@example.org",
        "license": "MIT",
    }


def test_plain_cookiecutter_gives_the_same_files(tmp_path: Path) -> None:
    """`cookiecutter templates/stoq-plugin` with the same answers renders byte-identical files."""
    run(
        "new-plugin", "--name", "multi", "--role", "archiver", "--role", "provider,connector",
        "--no-input", "--output-dir", str(tmp_path / "cli"),
    )  # fmt: skip
    (tmp_path / "cookiecutter").mkdir()
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(template_dir()),
         "plugin_name=multi", "roles=Provider, archiver, connector",
         "-o", str(tmp_path / "cookiecutter")],
        check=True, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    cli = tree(tmp_path / "cli" / "stoq-plugin-multi")
    plain = tree(tmp_path / "cookiecutter" / "stoq-plugin-multi")
    assert cli == plain
    answers = json.loads(cli[".cookiecutter.json"])
    assert answers["roles"] == "provider,archiver,connector"


def test_the_stoq_command_runs_it(tmp_path: Path) -> None:
    """`stoq new-plugin` is wired into the stoq command."""
    assert main(["new-plugin", *FLAGS, "-o", str(tmp_path)]) == 0
    assert (
        tmp_path / "stoq-plugin-wordcount" / "src" / "stoq_plugin_wordcount" / "plugin.py"
    ).is_file()


def test_prompts_ask_for_what_flags_did_not_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal each missing answer is asked for; an empty reply takes the default."""

    class Terminal:
        def isatty(self) -> bool:
            return True

    asked: List[str] = []
    replies = iter(["hexdump", "worker, decorator", "Shows bytes", "", "", "BSD-3-Clause"])

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return next(replies)

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("builtins.input", fake_input)
    assert run("new-plugin", "-o", str(tmp_path)) == 0
    assert len(asked) == 6 and asked[1].startswith("Role(s), comma-separated")
    answers = json.loads((tmp_path / "stoq-plugin-hexdump" / ".cookiecutter.json").read_text())
    assert answers["roles"] == "worker,decorator"
    assert answers["author"] == "stoQ developers"
    assert answers["license"] == "BSD-3-Clause"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--name", "Bad-Name"], "name 'Bad-Name': use lower-case letters, digits and underscores"),
        (
            ["--name", "ok", "--role", "scanner"],
            "role scanner: expected one or more of provider, worker",
        ),
        (
            ["--name", "ok", "--license", "WTFPL"],
            "license 'WTFPL': expected one of Apache-2.0, MIT",
        ),
        (["--name", "ok", "--email", "nobody"], "email 'nobody': expected an address"),
        (["--role", "worker"], "--name is required when not prompting"),
    ],
)
def test_bad_answers_are_usage_errors_and_create_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: List[str], message: str
) -> None:
    """Exit 2, a message naming the answer and what is expected, and no folder."""
    assert run("new-plugin", *flags, "--no-input", "-o", str(tmp_path)) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second run with the same name stops before touching the first one's files."""
    assert run("new-plugin", *FLAGS, "-o", str(tmp_path)) == 0
    plugin = tmp_path / "stoq-plugin-wordcount" / "src" / "stoq_plugin_wordcount" / "plugin.py"
    plugin.write_text("# my work\n")
    assert run("new-plugin", *FLAGS, "-o", str(tmp_path)) == 2
    assert "stoq-plugin-wordcount already exists" in capsys.readouterr().err
    assert plugin.read_text() == "# my work\n"


def test_without_cookiecutter_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The optional extra is named exactly, and the exit status is a usage error."""
    monkeypatch.setitem(sys.modules, "cookiecutter", None)
    assert run("new-plugin", *FLAGS, "-o", str(tmp_path)) == 2
    assert "pip install 'stoq-framework[authoring]'" in capsys.readouterr().err


def test_the_template_is_found_from_this_install() -> None:
    """Editable installs read the repository's template; wheels carry a copy (roundtrip checks)."""
    found = template_dir()
    assert (found / "cookiecutter.json").is_file()
    assert json.loads((found / "cookiecutter.json").read_text())["roles"] == "worker"


def test_plain_cookiecutter_refuses_bad_answers_too(tmp_path: Path) -> None:
    """The template's own pre-generation hook checks the name and roles, naming both."""
    done = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(template_dir()),
         "plugin_name=Bad-Name", "roles=worker,scanner", "-o", str(tmp_path / "out")],
        capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode != 0
    assert "plugin_name 'Bad-Name': use lower-case letters" in done.stderr
    assert "roles 'worker,scanner': each must be one of provider, worker" in done.stderr
    assert not (tmp_path / "out" / "stoq-plugin-Bad-Name").exists()
