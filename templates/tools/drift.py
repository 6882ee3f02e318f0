"""Template drift: does each contrib plugin's boilerplate still match a fresh render?

Every package under plugins-contrib/ must record its template answers in .cookiecutter.json.
The template is rendered again from those answers and the boilerplate compared: pyproject
(tables, keys, build system, metadata, entry point, wheel target), the package __init__,
the test scaffolding (a conformance suite per role, tests/data), the LICENSE text, and that the plugin class
serves the recorded roles. Extra dependencies, the version, the plugin's own code and extra
test files are intended differences and are not reported. Exit status 1 when anything drifted.

    python templates/tools/drift.py [PACKAGE_DIR ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CONTRIB, ROOT, load_toml, read_answers, render_source
from drift_checks import compare_package_init, compare_pyproject, compare_roles, compare_tests
from stoq.cli.new_plugin import normalise_roles  # the template's own reading of the answer
from stoq.plugins import ROLES


def check_package(project: Path, scratch: Path) -> List[str]:
    """Every difference between ``project`` and the template rendered from its answers."""
    try:
        answers = read_answers(project)
    except ValueError as exc:
        return [str(exc)]
    name = answers["plugin_name"]
    if project.name != f"stoq-plugin-{name}":
        return [f".cookiecutter.json names plugin {name!r}, but the folder is {project.name}"]
    try:
        rendered = render_source(answers, scratch)
    except Exception as exc:  # noqa: BLE001 - any rendering failure is this package's finding
        return [
            f"the template cannot be rendered from .cookiecutter.json: {type(exc).__name__}: {exc}"
        ]
    roles = normalise_roles(answers["roles"])
    canonical = [r for r in ROLES if r in roles]
    package = f"stoq_plugin_{name}"
    if not (project / "pyproject.toml").is_file():
        return ["pyproject.toml is missing"]
    diffs = compare_pyproject(project / "pyproject.toml", rendered / "pyproject.toml")
    diffs += compare_package_init(
        project / "src" / package / "__init__.py", rendered / "src" / package / "__init__.py"
    )
    diffs += compare_tests(project, name, canonical)
    if not (project / "README.md").is_file():
        diffs.append("README.md is missing")
    licence = project / "LICENSE"
    if not licence.is_file():
        diffs.append("LICENSE is missing (the template renders it from the recorded licence)")
    elif licence.read_bytes() != (rendered / "LICENSE").read_bytes():
        diffs.append(f"LICENSE differs from the {answers['license']} text the template renders")
    meta = load_toml(project / "pyproject.toml")
    entry = meta.get("project", {}).get("entry-points", {}).get("stoq.plugins", {}).get(name)
    if isinstance(entry, str):
        diffs += compare_roles(project, name, entry, canonical)
    return diffs


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "packages", nargs="*", type=Path, help="package folders (default: every plugins-contrib/*)"
    )
    args = parser.parse_args(argv)
    packages = args.packages or sorted(
        p for p in CONTRIB.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if not packages:
        print(f"no packages under {CONTRIB.relative_to(ROOT)}")
        return 1
    drifted = 0
    with tempfile.TemporaryDirectory(prefix="stoq-drift-") as scratch:
        for index, project in enumerate(packages):
            diffs = check_package(project.resolve(), Path(scratch) / str(index))
            label = project.name
            if diffs:
                drifted += 1
                print(f"DRIFT {label}: {len(diffs)} difference{'s' if len(diffs) > 1 else ''}")
                for diff in diffs:
                    print("  - " + diff.replace("\n", "\n    "))
            else:
                print(f"ok    {label}")
    print(f"{len(packages) - drifted} passed, {drifted} failed")
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main())
