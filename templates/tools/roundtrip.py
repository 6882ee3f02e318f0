"""Template round trip: render every role combination, install, test, list and build each one.

For each combination the rendered distribution goes into a fresh virtualenv with the core's
wheel (so the template shipped inside that wheel is what ``stoq new-plugin`` renders), its
generated tests must pass, ``stoq list --json`` must show it with the chosen roles, and its
own wheel must declare the entry point. Uses ``uv`` when it is on PATH, else venv + pip.

    python templates/tools/roundtrip.py [--keep DIR] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CORE, load_toml, render_source, tree
from stoq.plugins import ROLES  # canonical role order, as stoq list prints it

#: name → roles (the template's answer); the name is the plugin and entry-point name.
COMBINATIONS: Dict[str, str] = {
    "rt_worker": "worker",
    "rt_dispatcher": "dispatcher",
    "rt_deep": "deep_dispatcher",
    "rt_store": "provider,archiver,connector",
    "rt_decorator": "decorator",
    "rt_every": "worker,dispatcher,deep_dispatcher,provider,archiver,connector,decorator",
}


class RoundTripError(Exception):
    """One check failed; the message says which and why."""


def run(cmd: List[str], cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None) -> str:
    """Run a command; on failure raise with its output, so the report shows what broke."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RoundTripError(
            f"`{' '.join(cmd)}` exited {done.returncode}\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    return done.stdout


class Venv:
    """A fresh virtualenv, made and filled with uv when available, else venv and pip."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.uv = shutil.which("uv")
        if self.uv:
            run([self.uv, "venv", "--quiet", "--python", sys.executable, str(path)])
        else:
            run([sys.executable, "-m", "venv", str(path)])
        self.bin = path / ("Scripts" if os.name == "nt" else "bin")
        self.python = str(self.bin / "python")

    def install(self, *specs: str) -> None:
        if self.uv:
            run([self.uv, "pip", "install", "--quiet", "--python", self.python, *specs])
        else:
            run(
                [
                    self.python,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    *specs,
                ]
            )

    def wheel(self, project: Path, out: Path) -> Path:
        """Build ``project``'s wheel into ``out`` (isolated build, as a release would)."""
        if self.uv:
            run([self.uv, "build", "--quiet", "--wheel", "--out-dir", str(out), str(project)])
        else:
            run(
                [
                    self.python,
                    "-m",
                    "pip",
                    "wheel",
                    "--quiet",
                    "--no-deps",
                    "-w",
                    str(out),
                    str(project),
                ]
            )
        built = sorted(out.glob("*.whl"), key=lambda p: p.stat().st_mtime)
        if not built:
            raise RoundTripError(f"building {project} left no wheel in {out}")
        return built[-1]


def check_listing(venv: Venv, name: str, roles: List[str], env: Dict[str, str]) -> None:
    """``stoq list --json`` in the plugin's environment shows it, with its roles, loading."""
    listing = json.loads(run([str(venv.bin / "stoq"), "list", "--json"], env=env))
    entries = [item for item in listing if item.get("name") == name]
    if len(entries) != 1:
        raise RoundTripError(f"stoq list --json shows {len(entries)} entries named {name!r}")
    entry = entries[0]
    if entry.get("roles") != roles:
        raise RoundTripError(
            f"stoq list --json: {name!r} has roles {entry.get('roles')}, expected {roles}"
        )
    if entry.get("status") not in (None, "ok"):
        raise RoundTripError(
            f"stoq list --json: {name!r} status {entry.get('status')}: {entry.get('error')}"
        )


def check_wheel(wheel: Path, project: Path, name: str) -> None:
    """The wheel's entry_points.txt and METADATA say what the rendered pyproject says."""
    expected = load_toml(project / "pyproject.toml")["project"]
    assert isinstance(expected, dict)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next((n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA")), None)
        if info is None:
            raise RoundTripError(f"{wheel.name}: no .dist-info/METADATA")
        entry_points = configparser.ConfigParser(interpolation=None)
        entry_points.optionxform = str  # type: ignore[assignment]  # keep entry names as written
        entry_points.read_string(archive.read(f"{info}/entry_points.txt").decode())
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
    declared = (
        dict(entry_points["stoq.plugins"]) if entry_points.has_section("stoq.plugins") else {}
    )
    if declared != expected["entry-points"]["stoq.plugins"]:
        raise RoundTripError(
            f"{wheel.name}: stoq.plugins entry points {declared}, expected {expected['entry-points']}"
        )
    if (
        metadata["Name"] != expected["name"]
        or metadata["Requires-Python"] != expected["requires-python"]
    ):
        raise RoundTripError(
            f"{wheel.name}: METADATA Name/Requires-Python differ from pyproject.toml"
        )
    requires = [r.replace(" ", "") for r in metadata.get_all("Requires-Dist") or []]
    for wanted in expected["dependencies"]:
        if wanted.replace(" ", "") not in requires:
            raise RoundTripError(f"{wheel.name}: Requires-Dist {requires} lacks {wanted}")
    for module in ("__init__.py", "plugin.py"):
        if f"stoq_plugin_{name}/{module}" not in names:
            raise RoundTripError(f"{wheel.name}: stoq_plugin_{name}/{module} is not packaged")


def round_trip(name: str, roles: str, work: Path, core_wheel: Path, rendered: Path) -> str:
    """Install, test, list and build one rendered plugin; returns a one-line summary."""
    project = rendered / f"stoq-plugin-{name}"
    venv = Venv(work / f"venv-{name}")
    venv.install(str(core_wheel), f"{project}[test]")
    env = {**os.environ, "STOQ_HOME": str(work / "empty-home")}
    output = run(
        [venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project, env=env
    )
    passed = output.strip().splitlines()[-1]
    check_listing(venv, name, [r for r in ROLES if r in roles.split(",")], env)
    wheel = venv.wheel(project, work / f"wheel-{name}")
    check_wheel(wheel, project, name)
    return f"{passed}; stoq list roles {roles}; wheel {wheel.name} entry point ok"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (default: a temporary one)"
    )
    parser.add_argument(
        "--only", nargs="+", choices=sorted(COMBINATIONS), help="run only these combinations"
    )
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="stoq-roundtrip-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "empty-home").mkdir(exist_ok=True)
    chosen = {n: COMBINATIONS[n] for n in (args.only or COMBINATIONS)}
    failures = 0
    try:
        tools = Venv(work / "venv-render")
        core_wheel = tools.wheel(CORE, work / "core-wheel")
        tools.install(f"{core_wheel}[authoring]")
        print(f"core wheel {core_wheel.name}: installed with the authoring extra", flush=True)
        rendered, reference = work / "rendered", work / "reference"
        for name, roles in chosen.items():
            run([str(tools.bin / "stoq"), "new-plugin", "--name", name, "--role", roles,
                 "--no-input", "-o", str(rendered)])  # fmt: skip
            expected = render_source({"plugin_name": name, "roles": roles}, reference)
            if tree(rendered / expected.name) != tree(expected):
                raise RoundTripError(
                    f"{name}: the wheel's template renders differently from templates/stoq-plugin"
                )
        print(
            f"rendered {len(chosen)} combinations from the wheel; identical to the source template",
            flush=True,
        )
        for name, roles in chosen.items():
            try:
                print(
                    f"ok   {name} ({roles}): {round_trip(name, roles, work, core_wheel, rendered)}",
                    flush=True,
                )
            except RoundTripError as exc:
                failures += 1
                print(f"FAIL {name} ({roles}): {exc}", flush=True)
    except RoundTripError as exc:
        print(f"FAIL setup: {exc}", flush=True)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(chosen) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
