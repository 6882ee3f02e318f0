"""Check a wheelhouse of stoQ distributions before it is published (run by `nox -s build`).

For every package folder in the repository (the core and each contrib plugin) there must be
one sdist and one wheel in the wheelhouse, and each must hold what a user of the index needs:

- the wheel: its ``stoq.plugins`` entry point (plugins), the licence file, the README as
  long description (``Description-Content-Type: text/markdown``), ``Requires-Python``;
- the sdist: the tests (``tests/``), the licence, the README, ``pyproject.toml``, and no file
  bigger than a sample we make ourselves would be (third-party samples are downloaded by the
  tests through ``stoq.testing.pinned_sample``, never shipped);
- the plugin's ``stoq-framework>=X`` bound is satisfied by the core being released and names
  the same major version (a plugin for this core never accepts the old 3.x one), and its
  ``Requires-Python`` is no wider than the core's.

    python tests/release/check_dists.py dist/

Prints one line per problem and exits 1 when there is any.
"""

from __future__ import annotations

import email.parser
import re
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
#: The largest file an sdist may carry (a test's own generated data stays well below this).
MAX_SDIST_FILE = 512 * 1024


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _packages() -> Dict[str, Path]:
    """Distribution name → folder, for the core and every contrib plugin in the repository."""
    folders = [ROOT / "core", *sorted((ROOT / "plugins-contrib").glob("*/"))]
    found = {}
    for folder in folders:
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
        match = re.search(r'^name\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)
        if match:
            found[_normalise(match.group(1))] = folder
    return found


def _wheel_metadata(wheel: Path) -> Tuple[email.message.Message, List[str], str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(info).decode("utf-8"))
        entry = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
        entry_points = archive.read(entry).decode("utf-8") if entry else ""
    return metadata, names, entry_points


def check_wheel(wheel: Path, core_version: Version, core_python: SpecifierSet) -> List[str]:
    problems = []
    metadata, names, entry_points = _wheel_metadata(wheel)
    name = metadata["Name"]
    if not any("/licenses/" in n or n.endswith("/LICENSE") for n in names):
        problems.append(f"{wheel.name}: no licence file")
    if metadata.get("Description-Content-Type") != "text/markdown" or not metadata.get_payload():
        problems.append(f"{wheel.name}: the README is not its long description (markdown)")
    python = metadata.get("Requires-Python")
    if not python:
        problems.append(f"{wheel.name}: no Requires-Python")
    if name == "stoq-framework":
        if "stoq/catalogue.json" not in names:
            problems.append(f"{wheel.name}: the plugin catalogue (stoq/catalogue.json) is missing")
        return problems
    if "[stoq.plugins]" not in entry_points:
        problems.append(f"{wheel.name}: entry_points.txt has no [stoq.plugins] section")
    if python and not any(
        SpecifierSet(python).contains(v) for v in core_python.filter(_minor_versions())
    ):
        problems.append(
            f"{wheel.name}: Requires-Python {python} admits no Python the core supports"
        )
    cores = [
        Requirement(r)
        for r in metadata.get_all("Requires-Dist", [])
        if r.startswith("stoq-framework")
    ]
    if len(cores) != 1:
        problems.append(
            f"{wheel.name}: expected one stoq-framework requirement, found {len(cores)}"
        )
        return problems
    bound = cores[0].specifier
    if not bound.contains(core_version, prereleases=True):
        problems.append(f"{wheel.name}: stoq-framework{bound} excludes the core {core_version}")
    lower = [Version(s.version) for s in bound if s.operator in (">=", "~=", "==")]
    if not lower or min(lower).major != core_version.major:
        problems.append(
            f"{wheel.name}: stoq-framework{bound} must start at this core's major version"
            f" ({core_version.major}), or it would accept the unrelated stoq-framework 3.x"
        )
    return problems


def _minor_versions() -> List[str]:
    return [f"3.{minor}" for minor in range(9, 14)]


def check_sdist(sdist: Path) -> List[str]:
    problems = []
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if m.isfile()]
    relative = {m.name.split("/", 1)[1]: m.size for m in members if "/" in m.name}
    for required in ("pyproject.toml", "README.md", "LICENSE"):
        if required not in relative:
            problems.append(f"{sdist.name}: {required} is missing")
    if not any(path.startswith("tests/") and path.endswith(".py") for path in relative):
        problems.append(f"{sdist.name}: the tests are missing")
    for path, size in relative.items():
        if size > MAX_SDIST_FILE:
            problems.append(f"{sdist.name}: {path} is {size} bytes; samples are not shipped")
    return problems


def main(wheelhouse: Path) -> int:
    packages = _packages()
    wheels = {_normalise(p.name.split("-")[0]): p for p in wheelhouse.glob("*.whl")}
    sdists = {_normalise(p.name.rsplit("-", 1)[0]): p for p in wheelhouse.glob("*.tar.gz")}
    problems = [f"{name}: no wheel in {wheelhouse}" for name in packages if name not in wheels]
    problems += [f"{name}: no sdist in {wheelhouse}" for name in packages if name not in sdists]
    core_wheel = wheels.get("stoq_framework")
    if core_wheel is None:
        problems.append("the core wheel is missing: nothing else can be checked")
    else:
        core_metadata, _, _ = _wheel_metadata(core_wheel)
        core_version = Version(core_metadata["Version"])
        core_python = SpecifierSet(core_metadata.get("Requires-Python", ""))
        for wheel in sorted(wheels.values()):
            problems += check_wheel(wheel, core_version, core_python)
    for sdist in sorted(sdists.values()):
        problems += check_sdist(sdist)
    for problem in problems:
        print(problem)
    checked = len(wheels) + len(sdists)
    print(
        f"{checked} distributions checked for {len(packages)} packages, {len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
