"""Every check stoQ has, as nox sessions; `nox --list` describes each.

`nox` alone runs the default set (the README's test command, and what `.ci/run` runs): the core
and cross-package tests on every Python, each contrib plugin on the oldest and newest, and every
check, everything but the benchmarks. `nox -t full` runs the whole test matrix;
`nox -s "plugin-3.13(stoq-plugin-yara)"` runs one cell. Contrib plugins are found by globbing
``plugins-contrib/*/pyproject.toml``, so a new plugin joins the matrix when its folder lands.

Locally a Python that is not installed is skipped with a message; in CI (``CI`` set) every
version must be present, so a missing one fails the run.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
#: The version the single-interpreter checks (lint, typing, docs, template) run on.
MAIN_PYTHON = "3.11"
PLUGINS = sorted(p.parent.name for p in ROOT.glob("plugins-contrib/*/pyproject.toml"))
CORE = "core"
TEST_PLUGINS = "core/tests/test-plugins"
DIST = ROOT / "dist"
RELEASE_TESTS = "tests/release"
SERVER_TESTS = "tests/server"
#: Debian packages the browser test drives (headless Chromium and its WebDriver).
BROWSER_PACKAGES = ("chromium", "chromium-driver")
# Checkers are pinned, so a new release cannot fail the build without a change here.
RUFF = "ruff==0.17.6"
MYPY = "mypy==2.4.1"
DOCS_TOOLS = ("sphinx==9.0.4", "myst-parser==5.2.0", "furo==2025.12.19")
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = not IN_CI
nox.options.error_on_missing_interpreters = IN_CI
# Never fetch interpreters: the machine's Pythons are the matrix (pyenv provides them in CI).
nox.options.download_python = "never"


def _project_name(folder: str) -> str:
    """The distribution name in ``folder/pyproject.toml`` (read as text: nox may run on 3.9)."""
    text = (ROOT / folder / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^name\s*=\s*"([^"]+)"', text, flags=re.MULTILINE)
    if match is None:
        raise ValueError(f"{folder}/pyproject.toml has no [project] name")
    return match.group(1)


def _install_local(session: nox.Session, *specs: str, editable: bool = True) -> None:
    """Install local packages editable: sources are tested in place, installs stay fast.

    uv keeps an install whose version has not changed, even when its entry points (or, not
    editable, its sources) have; reinstalling the local packages (cheap: only they are
    rebuilt) keeps a reused environment in step with the tree.
    """
    args: list[str] = []
    for spec in specs:
        args += ["-e", spec] if editable else [f"./{spec}"]  # a bare "core" is a registry name
        if session.venv_backend == "uv":
            args += ["--reinstall-package", _project_name(spec.split("[", 1)[0])]
    session.install(*args)


def _pytest(session: nox.Session, *paths: str) -> None:
    """Run pytest with STOQ_HOME pointing nowhere, so a developer's ~/.stoq cannot change results.

    pytest's exit code reaches nox untouched: a failure, or no test collected (exit 5),
    fails the session.
    """
    # A folder that does not exist: no stoq.toml/stoq.cfg is found. (Not session.create_tmp(),
    # which also moves TMPDIR into the tree, where pytest would find this repo's config.)
    session.env["STOQ_HOME"] = str(Path(session.virtualenv.location) / "no-stoq-home")
    session.run("python", "-m", "pytest", *paths, *session.posargs)


def _require_script(session: nox.Session, relative: str) -> Path:
    script = ROOT / relative
    if not script.is_file():
        session.error(
            f"{relative} is missing: the authoring kit provides it (templates/tools/); "
            "this check cannot run until it exists"
        )
    return script


@nox.session(python=PYTHONS, tags=["tests", "full"])
def core(session: nox.Session) -> None:
    """Core tests (core/tests) with the test and authoring extras and the test-plugin distribution."""
    _install_local(session, f"{CORE}[test,authoring]", TEST_PLUGINS)
    _pytest(session, "core/tests")


def _supports(package: str, python: str) -> bool:
    """Whether the plugin's ``requires-python`` (a ``>=X.Y`` and optional ``<X.Y``) admits ``python``."""
    text = (ROOT / "plugins-contrib" / package / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^requires-python\s*=\s*"([^"]*)"', text, flags=re.MULTILINE)
    version = tuple(int(part) for part in python.split("."))
    for op, bound in re.findall(r"(>=|<)\s*(\d+\.\d+)", match.group(1) if match else ""):
        limit = tuple(int(part) for part in bound.split("."))
        if (op == ">=" and version < limit) or (op == "<" and version >= limit):
            return False
    return True


def _plugin_dependencies(package: str) -> list[str]:
    """The contrib plugins ``package`` requires (rtf reuses ole's parsers), as folders: they are
    installed from this tree, not looked up on the package index."""
    text = (ROOT / "plugins-contrib" / package / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, flags=re.MULTILINE | re.DOTALL)
    names = re.findall(r'"(stoq-plugin-[a-z0-9-]+)', match.group(1) if match else "")
    return [f"plugins-contrib/{name}" for name in names if name in PLUGINS]


def _plugin_tests(session: nox.Session, package: str) -> None:
    """One contrib plugin's own tests: the core plus that plugin with its test extra (and the
    contrib plugins it requires), nothing else."""
    if not _supports(package, str(session.python)):
        session.skip(f"{package} does not support Python {session.python} (its requires-python)")
    folder = f"plugins-contrib/{package}"
    _install_local(session, CORE, *_plugin_dependencies(package), f"{folder}[test]")
    _pytest(session, f"{folder}/tests")


# Every plugin on every Python would not fit CI's time budget (SPEC §10): the default set tests
# plugins on the oldest and newest Python, `nox -t full` (session "plugin_full") on all five.
@nox.session(python=[PYTHONS[0], PYTHONS[-1]], tags=["tests", "full"])
@nox.parametrize("package", PLUGINS, ids=PLUGINS)
def plugin(session: nox.Session, package: str) -> None:
    """One contrib plugin's own tests on the oldest and newest Python (the default set)."""
    _plugin_tests(session, package)


@nox.session(python=PYTHONS[1:-1], default=False, tags=["full"])
@nox.parametrize("package", PLUGINS, ids=PLUGINS)
def plugin_full(session: nox.Session, package: str) -> None:
    """One contrib plugin's own tests on the Pythons between (with ``plugin``, the full matrix)."""
    _plugin_tests(session, package)


@nox.session(python=PYTHONS, tags=["tests", "full"])
def cross(session: nox.Session) -> None:
    """Cross-package tests (tests/): the core, every contrib plugin and the test plugins together."""
    plugins = [f"plugins-contrib/{name}" for name in PLUGINS]
    # pip too: `stoq install` installs with it (uv-made environments have none).
    # moto[server]: the scale-out end-to-end test starts a real S3-compatible server with it.
    session.install("pip", "moto[server]")
    _install_local(session, f"{CORE}[test,authoring]", TEST_PLUGINS, *plugins)
    _pytest(session, "tests", f"--ignore={RELEASE_TESTS}", f"--ignore={SERVER_TESTS}")


def _build_wheelhouse(session: nox.Session) -> None:
    """An sdist and a wheel (built from that sdist, so from a clean tree) of every package."""
    session.install("build[uv]", "twine", "readme-renderer[md]")
    if DIST.exists():
        shutil.rmtree(DIST)
    for folder in [CORE, *(f"plugins-contrib/{name}" for name in PLUGINS)]:
        session.run(
            "python", "-m", "build", "--installer", "uv", "--outdir", str(DIST), folder, silent=True
        )
    session.run("twine", "check", "--strict", *sorted(str(p) for p in DIST.iterdir()))
    session.run("python", f"{RELEASE_TESTS}/check_dists.py", str(DIST))


@nox.session(python=MAIN_PYTHON, tags=["checks", "release"])
def build(session: nox.Session) -> None:
    """Build every distribution into dist/ (sdist + wheel) and check each: twine, entry points,
    licence, README, sdist contents, requires-python and the stoq-framework bound."""
    _build_wheelhouse(session)


@nox.session(python=[PYTHONS[0], PYTHONS[-1]], tags=["checks", "release"])
def install_by_name(session: nox.Session) -> None:
    """Install plugins by name from the dist/ wheelhouse into fresh venvs, with no index (after
    `build`; builds dist/ itself when it has no core wheel)."""
    if not list(DIST.glob("stoq_framework-*.whl")):
        _build_wheelhouse(session)
    session.install("pytest", "pip", "pyyaml")
    session.env["STOQ_WHEELHOUSE"] = str(DIST)
    session.run("python", "-m", "pytest", RELEASE_TESTS, *session.posargs)


def _apt_install(session: nox.Session, *packages: str) -> None:
    """Install the Debian packages that are missing (as root), or fail saying which and how."""
    missing = [
        p
        for p in packages
        if session.run(
            "dpkg-query", "-W", "-f=${Status}", p, external=True, silent=True, success_codes=[0, 1]
        )
        != "install ok installed"
    ]
    if not missing:
        return
    if os.geteuid() != 0:
        session.error(f"missing Debian packages {' '.join(missing)}: apt-get install them first")
    session.run("apt-get", "update", "-qq", external=True)
    session.run(
        "apt-get", "install", "-y", "-qq", *missing, external=True,
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )  # fmt: skip


@nox.session(python=MAIN_PYTHON, tags=["checks"])
def serve(session: nox.Session) -> None:
    """`stoq serve`: API tests over HTTP, schemathesis on its OpenAPI document, and a headless
    Chromium test of the results page (installs Debian's chromium and chromium-driver)."""
    _apt_install(session, *BROWSER_PACKAGES)
    session.install("httpx", "schemathesis", "selenium")
    plugins = [f"plugins-contrib/{name}" for name in PLUGINS]
    _install_local(session, f"{CORE}[server,test]", TEST_PLUGINS, *plugins)
    _pytest(session, SERVER_TESTS)


#: Plugins whose worker parses what it is given: the fuzzing targets.
#: Largest fuzz input per plugin (default 1 MiB): text parsers are slow on big inputs and gain
#: nothing from them.
FUZZ_MAX_LEN = {"javascript": 16384, "html": 65536, "iocs": 65536, "email": 262144}
NOT_PARSERS = ("dirmon", "filedir", "hash", "jinja", "postgres", "redis", "results", "s3", "stdout")


@nox.session(python=MAIN_PYTHON, default=False, tags=["fuzz"])
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing (atheris) of each parsing plugin through the engine; not default.

    `nox -s fuzz -- --seconds 600 [PLUGIN ...]` (default 60 s each, every parser). Seeds are
    real files (tests/fuzz/seeds.py); the corpus grows in .fuzz/corpus/<plugin>; a finding's
    input is saved in .fuzz/crashes/<plugin>/ and fails the session.
    """
    args = list(session.posargs)
    seconds = "60"
    if "--seconds" in args:
        index = args.index("--seconds")
        seconds = args[index + 1]
        del args[index : index + 2]
    candidates = [p.removeprefix("stoq-plugin-") for p in PLUGINS]
    targets = args or [p for p in candidates if p not in NOT_PARSERS]
    unknown = set(targets) - set(candidates)
    if unknown:
        session.error(f"no such plugin: {', '.join(sorted(unknown))}")
    session.install("atheris")
    folders = [f"plugins-contrib/stoq-plugin-{name}" for name in targets]
    required = {dep for name in targets for dep in _plugin_dependencies(f"stoq-plugin-{name}")}
    _install_local(
        session,
        f"{CORE}[test]",
        *sorted(required - set(folders)),
        *(f"{folder}[test]" for folder in folders),
    )
    work = ROOT / ".fuzz"
    seeds = work / "seeds"
    # The plugins' own tests first: they must pass, and they fetch the pinned real samples.
    session.env["STOQ_HOME"] = str(work / "no-stoq-home")
    for name in targets:
        session.run(
            "python", "-m", "pytest", f"plugins-contrib/stoq-plugin-{name}/tests", "-q", "-x"
        )
    session.run(
        "python",
        "-c",
        f"import sys; sys.path.insert(0, 'tests/fuzz'); import seeds; print(seeds.write_seeds(__import__('pathlib').Path({str(seeds)!r})), 'seeds')",
    )
    findings = []
    for name in targets:
        corpus, crashes = work / "corpus" / name, work / "crashes" / name
        corpus.mkdir(parents=True, exist_ok=True)
        crashes.mkdir(parents=True, exist_ok=True)
        try:
            session.run(
                "python", "tests/fuzz/fuzz_plugin.py", name,
                # -timeout=0: the engine owns SIGALRM; the harness's watchdog thread catches hangs.
                f"-max_total_time={seconds}", "-timeout=0", "-rss_limit_mb=3072",
                f"-max_len={FUZZ_MAX_LEN.get(name, 1 << 20)}",
                f"-artifact_prefix={crashes}/", "-print_final_stats=1",
                str(corpus), str(seeds),
            )  # fmt: skip
        except nox.command.CommandFailed:
            findings.append(name)
    if findings:
        session.error(f"findings (inputs in .fuzz/crashes/): {', '.join(findings)}")


@nox.session(python=MAIN_PYTHON, tags=["checks"])
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the whole tree (configuration: pyproject.toml)."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=MAIN_PYTHON, tags=["checks"])
def typing(session: nox.Session) -> None:
    """mypy --strict on the core package (configuration: pyproject.toml)."""
    session.install(MYPY, "tomli", "pytest", "types-tabulate")
    _install_local(session, f"{CORE}[server,metrics,cache-redis,tracing]")
    session.run("mypy", *session.posargs)


@nox.session(python=MAIN_PYTHON, tags=["checks"])
def template(session: nox.Session) -> None:
    """Template round trip: render templates/stoq-plugin, run the result's tests; drift tool tests."""
    script = _require_script(session, "templates/tools/roundtrip.py")
    _install_local(session, f"{CORE}[test,authoring]")
    session.run("python", str(script), *session.posargs)
    session.run("python", "-m", "pytest", "templates/tests")


@nox.session(python=MAIN_PYTHON, tags=["checks"])
def drift(session: nox.Session) -> None:
    """Template drift: each contrib plugin's boilerplate still matches a fresh render."""
    script = _require_script(session, "templates/tools/drift.py")
    _install_local(session, f"{CORE}[authoring]")
    session.run("python", str(script), *session.posargs)


@nox.session(python=MAIN_PYTHON, tags=["checks"])
def docs(session: nox.Session) -> None:
    """Build the documentation site (docs/) with Sphinx; any warning is an error."""
    session.install(*DOCS_TOOLS)
    _install_local(session, f"{CORE}[test]")
    out = ROOT / "docs" / "_build" / "html"
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", str(out))


#: The engine is every module of the core package but these sub-packages (the command line,
#: the HTTP server with its own session, the plugin test harness); `nox -s coverage` fails if
#: an engine module is below ENGINE_COVERAGE %.
NOT_ENGINE = ("cli", "server", "testing")
ENGINE_COVERAGE = 90
COVERAGE = "coverage==7.17.5"


@nox.session(python=MAIN_PYTHON, default=False, tags=["checks"])
def coverage(session: nox.Session) -> None:
    """Core and cross-package tests under `coverage run` (subprocesses too); prints the
    per-module table and fails if an engine module is below ENGINE_COVERAGE %. Not default.

    `coverage run -m pytest`, not pytest-cov: the pytest11 plugin imports `stoq` before
    pytest-cov would start measuring.
    """
    plugins = [f"plugins-contrib/{name}" for name in PLUGINS]
    session.install("pip", "moto[server]", COVERAGE)
    _install_local(session, f"{CORE}[test,authoring]", TEST_PLUGINS, *plugins)
    session.env["STOQ_HOME"] = str(Path(session.virtualenv.location) / "no-stoq-home")
    session.env["COVERAGE_RCFILE"] = str(ROOT / "pyproject.toml")
    session.env["COVERAGE_FILE"] = str(Path(session.virtualenv.location) / ".coverage")
    session.run("coverage", "erase")
    # Two runs (the folders share test module names); parallel mode keeps both data files.
    core_run = ["core/tests"]
    cross_run = ["tests", f"--ignore={RELEASE_TESTS}", f"--ignore={SERVER_TESTS}"]
    for args in (core_run, cross_run):
        session.run("coverage", "run", "-m", "pytest", "-q", *args, *session.posargs)
    session.run("coverage", "combine", "-q")
    session.run("coverage", "report")
    report = Path(session.virtualenv.location) / "coverage.json"
    session.run("coverage", "json", "-q", "-o", str(report))
    import json

    files = json.loads(report.read_text(encoding="utf-8"))["files"]
    low = []
    for path, data in files.items():
        parts = Path(path).parts
        inside = parts[parts.index("stoq") + 1 :]
        if inside[0] not in NOT_ENGINE:
            percent = data["summary"]["percent_covered"]
            if percent < ENGINE_COVERAGE:
                low.append(f"{'.'.join(inside)} {percent:.0f}%")
    if low:
        session.error(f"engine modules below {ENGINE_COVERAGE}%: {', '.join(low)}")


@nox.session(python=MAIN_PYTHON, default=False, tags=["bench"])
def bench(session: nox.Session) -> None:
    """Benchmarks (bench/*.py; `-- NAME ...` picks some) with every contrib plugin; not default."""
    scripts = [p for p in sorted((ROOT / "bench").glob("*.py")) if not p.name.startswith("_")]
    if session.posargs:
        unknown = set(session.posargs) - {p.stem for p in scripts}
        if unknown:
            session.error(f"no such benchmark: {', '.join(sorted(unknown))}")
        scripts = [p for p in scripts if p.stem in session.posargs]
    if not scripts:
        session.skip("no benchmark scripts in bench/ yet")
    plugins = [f"plugins-contrib/{name}" for name in PLUGINS]
    # Installed as users install them: an editable install puts one folder per package on
    # sys.path (37 here), which slows every import and `python -c pass` itself, so start-up
    # ratios read lower than a real installation gives.
    _install_local(session, CORE, *plugins, editable=False)
    for script in scripts:
        for stale in (ROOT / "bench" / "results").glob(f"{script.stem}--*.json"):
            stale.unlink()
        session.run("python", str(script))
    session.run("python", str(ROOT / "bench" / "_table.py"))
