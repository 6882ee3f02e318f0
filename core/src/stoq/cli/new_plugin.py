"""``stoq new-plugin``: render the plugin template into a new ``stoq-plugin-<name>`` folder.

The template is the cookiecutter template ``templates/stoq-plugin``. A built core carries it as
package data (``stoq/templates/stoq-plugin``); an editable install reads the repository's copy.
``render`` is shared with the round-trip and drift tools, so all three produce the same files
as ``cookiecutter templates/stoq-plugin``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import keyword
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

__all__ = ["add_parser", "handle", "normalise_roles", "render", "template_dir", "validate"]

EXIT_OK, EXIT_USAGE = 0, 2
#: The answers the template asks for, in the order it asks.
ANSWERS = ("plugin_name", "roles", "description", "author", "email", "license")
#: Role names in canonical order (``stoq.plugins.ROLES``), as the template writes them.
ROLE_NAMES = (
    "provider",
    "worker",
    "dispatcher",
    "deep_dispatcher",
    "archiver",
    "connector",
    "decorator",
)
INSTALL_HINT = "pip install 'stoq-framework[authoring]'"

DESCRIPTION = (
    """\
Create a new plugin distribution, stoq-plugin-NAME, from the stoq plugin template: pyproject
with the entry point, the plugin class with a working example method per role, README, tests
that use the stoq.testing conformance suite, and a tests/data folder.

Answers not given as flags are asked for on a terminal; with --no-input (or no terminal) the
template's defaults are used, except for --name, which is always required then. Needs the
cookiecutter library: """
    + INSTALL_HINT
)

EXAMPLES = """\
examples:
  stoq new-plugin
  stoq new-plugin --name wordcount --role worker --description "Counts words" \\
      --author "A. Analyst" --email analyst@example.org --license MIT --output-dir plugins
  stoq new-plugin --name filestore --role provider --role archiver --role connector --no-input"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "new-plugin",
        help="create a plugin distribution from the plugin template",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--name", help="plugin name users type: lower case, digits and _ (e.g. yara)"
    )
    parser.add_argument(
        "--role",
        action="append",
        dest="roles",
        metavar="ROLE",
        help=f"a role the plugin serves; repeat or comma-separate for several ({', '.join(ROLE_NAMES)})",
    )
    parser.add_argument("--description", help="one line saying what the plugin does")
    parser.add_argument("--author", help="author name for the package metadata")
    parser.add_argument("--email", help="author email for the package metadata")
    parser.add_argument(
        "--license", help="SPDX licence identifier offered by the template (e.g. Apache-2.0, MIT)"
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        default=Path("."),
        help="folder to create stoq-plugin-NAME in, made if missing (default: the current folder)",
    )
    parser.add_argument(
        "--no-input", action="store_true", help="never prompt; use template defaults"
    )
    parser.set_defaults(handler=handle, func=handle)


def template_dir() -> Path:
    """The template folder: package data in a built core, else the repository's copy."""
    here = Path(__file__).resolve()
    candidates = [
        here.parents[1] / "templates" / "stoq-plugin",  # stoq/templates/stoq-plugin in a wheel
        here.parents[4] / "templates" / "stoq-plugin",  # <repo>/templates/stoq-plugin (editable)
    ]
    for candidate in candidates:
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise FileNotFoundError(
        "the stoq-plugin template is not installed (looked in "
        + " and ".join(str(c) for c in candidates)
        + "); reinstall stoq-framework"
    )


def normalise_roles(roles: str) -> List[str]:
    """``"Worker, deep dispatcher"`` → ``["worker", "deep_dispatcher"]``, as the template reads them."""
    return [
        r.strip().lower().replace(" ", "_").replace("-", "_") for r in roles.split(",") if r.strip()
    ]


def validate(answers: Mapping[str, str], licenses: List[str]) -> List[str]:
    """Every problem with the answers, each naming the answer and what is expected."""
    problems = []
    name = answers["plugin_name"]
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        problems.append(
            f"name {name!r}: use lower-case letters, digits and underscores, starting with a letter"
        )
    roles = normalise_roles(answers["roles"])
    unknown = [r for r in roles if r not in ROLE_NAMES]
    if unknown or not roles:
        problems.append(
            f"role {', '.join(unknown) or '(none)'}: expected one or more of {', '.join(ROLE_NAMES)}"
        )
    description = answers["description"]
    if (
        not description.strip()
        or "\n" in description
        or '"""' in description
        or "\\" in description
    ):
        problems.append("description: give one non-empty line without backslashes or triple quotes")
    for key in ("author", "email"):
        if not answers[key].strip() or "\n" in answers[key]:
            problems.append(f"{key}: give one non-empty line")
    if "@" not in answers["email"]:
        problems.append(f"email {answers['email']!r}: expected an address like name@example.org")
    if answers["license"] not in licenses:
        problems.append(f"license {answers['license']!r}: expected one of {', '.join(licenses)}")
    return problems


def render(answers: Mapping[str, str], output_dir: Path, template: Optional[Path] = None) -> Path:
    """Render the template with ``answers`` into ``output_dir``; returns the new folder.

    Uses no cookiecutter user configuration and writes no replay file, so the result depends
    on the answers alone. A half-written folder is removed if rendering fails.
    """
    cookiecutter = importlib.import_module("cookiecutter.main").cookiecutter  # optional extra

    target = Path(output_dir) / f"stoq-plugin-{answers['plugin_name']}"
    existed = target.exists()
    try:
        with tempfile.TemporaryDirectory(prefix="stoq-new-plugin-") as scratch:
            project = cookiecutter(
                str(template or template_dir()),
                no_input=True,
                output_dir=str(output_dir),
                extra_context=dict(answers),
                default_config={"replay_dir": scratch},
            )
    except BaseException:
        if not existed and target.exists():
            shutil.rmtree(target)
        raise
    return Path(project)


def _template_defaults(template: Path) -> Dict[str, Any]:
    with (template / "cookiecutter.json").open(encoding="utf-8") as handle:
        result: Dict[str, Any] = json.load(handle)
        return result


def _collect(
    args: argparse.Namespace, defaults: Mapping[str, Any], ask: Optional[Callable[[str], str]]
) -> Dict[str, str]:
    """Answers from flags; the rest from prompts (``ask``) or, without a terminal, defaults."""
    given = {
        "plugin_name": args.name,
        "roles": ",".join(args.roles) if args.roles else None,
        "description": args.description,
        "author": args.author,
        "email": args.email,
        "license": args.license,
    }
    prompts = defaults.get("__prompts__", {})
    answers: Dict[str, str] = {}
    for key in ANSWERS:
        default = defaults[key][0] if isinstance(defaults[key], list) else defaults[key]
        if given[key] is not None:
            answers[key] = given[key]
        elif ask is not None:
            choices = f" ({', '.join(defaults[key])})" if isinstance(defaults[key], list) else ""
            answers[key] = ask(f"{prompts.get(key, key)}{choices} [{default}]: ").strip() or default
        else:
            answers[key] = default
    return answers


def _error(message: str) -> int:
    print(f"stoq: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def handle(args: argparse.Namespace) -> int:
    """Validate the answers, render the template, and say what to do next."""
    if importlib.util.find_spec("cookiecutter") is None:
        return _error(f"stoq new-plugin needs the cookiecutter library: {INSTALL_HINT}")
    try:
        template = template_dir()
    except FileNotFoundError as exc:
        return _error(str(exc))
    defaults = _template_defaults(template)
    interactive = not args.no_input and sys.stdin is not None and sys.stdin.isatty()
    if args.name is None and not interactive:
        return _error("--name is required when not prompting (--no-input, or no terminal)")
    answers = _collect(args, defaults, input if interactive else None)
    problems = validate(answers, list(defaults["license"]))
    if problems:
        return _error("; ".join(problems))
    answers["roles"] = ",".join(normalise_roles(answers["roles"]))
    output_dir: Path = args.output_dir
    target = output_dir / f"stoq-plugin-{answers['plugin_name']}"
    if target.exists():
        return _error(f"{target} already exists; choose another --name or --output-dir")
    if output_dir.exists() and not output_dir.is_dir():
        return _error(f"--output-dir {output_dir}: not a folder")
    output_dir.mkdir(parents=True, exist_ok=True)
    failure = importlib.import_module("cookiecutter.exceptions").CookiecutterException

    try:
        project = render(answers, output_dir, template)
    except failure as exc:
        return _error(f"rendering the template failed: {exc}")
    print(f"created {project}")
    print(f"next: pip install -e '{project}[test]' && pytest {project}")
    return EXIT_OK
