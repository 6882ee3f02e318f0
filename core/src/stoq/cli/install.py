"""``stoq install``: add a plugin distribution to the interpreter this stoq runs in.

pip (or ``uv pip`` where pip is absent) does the work; afterwards the installed distributions
are compared with those before, and the user is told which plugins arrived — or, clearly, that
what was installed registers no ``stoq.plugins`` entry point.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

from stoq.cli.common import EXIT_FAILED, EXIT_OK, CliError, start_logging
from stoq.cli.flags import add_log_flag

__all__ = [
    "add_parser",
    "expand_short_name",
    "handle",
    "installer_command",
    "refuse_v2_folder",
    "requested_name",
]

DESCRIPTION = """\
Install a stoq plugin distribution into the Python environment stoq runs in (the interpreter
'stoq --version' names) with pip, or with 'uv pip' when pip is not installed there.

SPEC is what pip accepts: a name (optionally with a version), a project folder, a wheel or an
sdist. The short name of a contrib plugin stands for its distribution ('yara' installs
stoq-plugin-yara; 'stoq list --available' shows them). --find-links, --index-url,
--extra-index-url and --no-index go to the installer, so an offline wheelhouse or a private
index works. Afterwards the plugins it registers are listed; 'stoq list' shows them too.

Exit status: 0 installed and it provides stoq plugins; 1 the installer failed, or what was
installed registers no 'stoq.plugins' entry point; 2 usage error (e.g. no installer)."""

EXAMPLES = """\
examples:
  stoq install yara                              the contrib plugin stoq-plugin-yara
  stoq install stoq-plugin-yara
  stoq install yara --no-index --find-links dist  from a local wheelhouse
  stoq install yara --index-url https://pypi.example.org/simple
  stoq install -U stoq-plugin-hash               upgrade
  stoq install ./plugins-contrib/stoq-plugin-entropy
  stoq install dist/stoq_plugin_mine-0.1.0-py3-none-any.whl"""


class Dist(NamedTuple):
    name: str
    version: str
    plugins: List[str]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "install",
        help="pip-install a plugin distribution into stoq's environment",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "spec", metavar="SPEC", help="distribution name, project folder, wheel or sdist"
    )
    parser.add_argument(
        "-U", "--upgrade", action="store_true", help="upgrade it if already installed"
    )
    index = parser.add_argument_group("package index (passed to the installer)")
    index.add_argument("--find-links", action="append", default=[], metavar="DIR_OR_URL")
    index.add_argument("--index-url", metavar="URL")
    index.add_argument("--extra-index-url", action="append", default=[], metavar="URL")
    index.add_argument("--no-index", action="store_true", help="use only --find-links")
    add_log_flag(parser)
    parser.set_defaults(handler=handle, profile="none")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distributions() -> Dict[str, Dist]:
    """Installed distributions by normalised name, with their stoq plugin names."""
    importlib.invalidate_caches()
    if sys.version_info >= (3, 10):
        from importlib.metadata import distributions
    else:  # pragma: no cover - exercised on 3.9 only
        from importlib_metadata import distributions

    found: Dict[str, Dist] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if not name or _normalise(name) in found:  # the first on sys.path wins, as for imports
            continue
        plugins = sorted(ep.name for ep in dist.entry_points if ep.group == "stoq.plugins")
        found[_normalise(name)] = Dist(name, dist.version, plugins)
    return found


def requested_name(spec: str) -> Optional[str]:
    """The distribution name SPEC asks for, where it can be told without building anything."""
    path = Path(spec)
    if path.is_file() and path.suffix == ".whl":
        return _normalise(path.name.split("-")[0])
    if path.is_file() and path.name.endswith((".tar.gz", ".zip")):
        return _normalise(path.name.rsplit("-", 1)[0])
    if path.is_dir():
        pyproject = path / "pyproject.toml"
        if not pyproject.is_file():
            return None
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on 3.9/3.10 only
            import tomli as tomllib
        try:
            name = (
                tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name")
            )
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            return None
        return _normalise(name) if isinstance(name, str) else None
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return _normalise(Requirement(spec).name)
    except InvalidRequirement:
        return None


def expand_short_name(spec: str) -> str:
    """``yara`` (or ``yara>=4``) → ``stoq-plugin-yara``: a contrib plugin's short name, through
    the catalogue; anything else (paths, other names) is returned unchanged."""
    if os.path.exists(spec):
        return spec
    from packaging.requirements import InvalidRequirement, Requirement

    from stoq.catalogue import load_catalogue

    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        return spec
    wanted = _normalise(requirement.name)
    for entry in load_catalogue():
        if _normalise(entry.name) == wanted and wanted != _normalise(entry.distribution):
            return entry.distribution + spec[len(requirement.name) :]
    return spec


def _index_options(args: argparse.Namespace) -> List[str]:
    options: List[str] = []
    for link in args.find_links:
        options += ["--find-links", os.path.abspath(link) if os.path.exists(link) else link]
    if args.index_url:
        options += ["--index-url", args.index_url]
    for url in args.extra_index_url:
        options += ["--extra-index-url", url]
    if args.no_index:
        options.append("--no-index")
    return options


def installer_command(spec: str, upgrade: bool, options: Sequence[str] = ()) -> List[str]:
    """pip in this interpreter, else uv aimed at it."""
    if importlib.util.find_spec("pip") is not None:
        command = [sys.executable, "-m", "pip", "install"]
    elif shutil.which("uv"):
        command = [shutil.which("uv") or "uv", "pip", "install", "--python", sys.executable]
    else:
        raise CliError(
            f"neither pip nor uv is available for {sys.executable}:"
            f" add pip with '{sys.executable} -m ensurepip', or install uv"
        )
    if upgrade:
        command.append("--upgrade")
    command += options
    command.append(os.path.abspath(spec) if os.path.exists(spec) else spec)
    return command


def _uninstall(name: str) -> str:
    if importlib.util.find_spec("pip") is not None:
        return f"{sys.executable} -m pip uninstall {name}"
    return f"uv pip uninstall --python {sys.executable} {name}"


def refuse_v2_folder(spec: str) -> None:
    """A v2 plugin folder (``.stoq`` files, no ``stoq.plugins`` entry point) is not a
    distribution: pip would put its module in site-packages where stoq never looks for it."""
    folder = Path(spec)
    if not folder.is_dir() or not any(folder.rglob("*.stoq")):
        return
    for build_file in ("pyproject.toml", "setup.py", "setup.cfg"):
        path = folder / build_file
        if path.is_file() and "stoq.plugins" in path.read_text(encoding="utf-8", errors="replace"):
            return
    raise CliError(
        f"{spec!r} is a stoQ v2 plugin folder, not a plugin distribution: use it as it is with"
        f" '--plugin-dir {spec}' (or copy it into $STOQ_HOME/plugins, which is searched), and"
        " install its requirements.txt with pip"
    )


def handle(args: argparse.Namespace) -> int:
    start_logging(args)
    refuse_v2_folder(args.spec)
    spec = expand_short_name(args.spec)
    command = installer_command(spec, args.upgrade, _index_options(args))
    before = _distributions()
    print(f"stoq: running {' '.join(command)}", file=sys.stderr, flush=True)
    status = subprocess.call(command)
    if status != 0:
        raise CliError(
            f"installing {spec!r} failed (the installer exited with {status}; see its output above)",
            EXIT_FAILED,
        )
    after = _distributions()
    changed = [key for key, dist in after.items() if before.get(key) != dist]
    wanted = requested_name(spec)
    candidates = list(dict.fromkeys(([wanted] if wanted in after else []) + changed))
    with_plugins = [after[key] for key in candidates if after[key].plugins]
    if with_plugins:
        for dist in with_plugins:
            print(f"{dist.name} {dist.version} provides stoq plugin(s): {', '.join(dist.plugins)}")
        print("Run 'stoq list' to see every installed plugin.")
        return EXIT_OK
    if not candidates:
        raise CliError(
            f"the installer succeeded but nothing new was installed for {spec!r},"
            " and no installed distribution of that name provides stoq plugins",
            EXIT_FAILED,
        )
    shown = after[wanted] if wanted in after else after[candidates[0]]
    raise CliError(
        f"{shown.name} {shown.version} is installed but registers no 'stoq.plugins' entry point,"
        " so stoq cannot use it; a plugin declares one in its pyproject.toml under"
        f" [project.entry-points.\"stoq.plugins\"] (remove it with '{_uninstall(shown.name)}'"
        " if it was a mistake)",
        EXIT_FAILED,
    )
