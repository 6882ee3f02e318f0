"""The package's shape: no import cycles inside ``stoq``, and ``import stoq`` stays light."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pytest

import stoq

PACKAGE = Path(stoq.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, known: Set[str]) -> Set[str]:
    """Every ``stoq`` module a module imports, at any depth, except under TYPE_CHECKING."""
    found: Set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in known:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> Dict[str, Set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    return {
        name: _imports(ast.parse(path.read_text(encoding="utf-8")), known) - {name}
        for name, path in files.items()
    }


def _cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle as a path (empty if there is none)."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_import_graph_finds_a_cycle_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_no_module_inside_stoq_imports_itself_in_a_circle() -> None:
    """Function-level imports count too: a lazy import hides a cycle, it does not remove it."""
    graph = _graph()
    assert "stoq.core" in graph and "stoq.request" in graph["stoq.core"]
    assert _cycle(graph) == []


def test_import_stoq_pulls_in_no_plugin_no_cli_and_no_multiprocessing() -> None:
    code = (
        "import sys, stoq\n"
        "heavy = [m for m in sys.modules if m.startswith(('stoq_plugin', 'stoq.cli',"
        " 'multiprocessing', 'stoq.consumers', 'stoq.isolation', 'stoq.run', 'stevedore'))]\n"
        "print(heavy)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _python(code: str, **environ: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    """``code`` run by a fresh interpreter, without coverage's subprocess measurement (which
    itself imports multiprocessing and more)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE")}
    env.update(environ)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )


#: Standard-library modules ``stoq scan`` does without (each is milliseconds of every start).
SCAN_DOES_NOT_IMPORT = ("dataclasses", "inspect", "ast", "dis", "shutil", "tomllib", "tomli")


@pytest.mark.parametrize(
    ("jobs", "unwanted"),
    [
        ("1", SCAN_DOES_NOT_IMPORT),
        # The consumer pool's parent: multiprocessing imports shutil, and numpy (imported for
        # the consumers by the entropy plugin's preload) imports inspect, ast and dis.
        ("2", ("dataclasses", "tomllib", "tomli")),
    ],
)
def test_stoq_scan_does_not_import_what_it_does_without(
    tmp_path: Path, jobs: str, unwanted: Tuple[str, ...]
) -> None:
    """The engine's scan path (CLI, default profile, settings, loader, request, and with -j
    the consumer pool) stays off these modules (the profile's plugins too, where installed)."""
    folder = tmp_path / "samples"
    folder.mkdir()
    for name in ("one.txt", "two.txt"):
        (folder / name).write_text(f"hello stoq {name}\n")
    code = (
        "import sys\n"
        "from stoq.cli import main\n"
        f"status = main(['scan', '--jsonl', '-j', {jobs!r}, {str(folder)!r}])\n"
        f"print(status, [m for m in {unwanted!r} if m in sys.modules], file=sys.stderr)\n"
    )
    out = _python(code, STOQ_HOME=str(tmp_path / "home"))
    assert out.stderr.splitlines()[-1] == "0 []", out.stderr


def test_stoq_version_imports_neither_logging_nor_typing() -> None:
    """`stoq --version` imports the `stoq` package and the CLI's entry module only; `logging`
    (with `traceback`, `string`, `threading`) and `typing` were most of its cost."""
    code = (
        "import sys\n"
        "from stoq.cli import main\n"
        "status = main(['--version'])\n"
        "print(status, [m for m in ('logging', 'typing', 'argparse', 're') if m in sys.modules])\n"
    )
    out = _python(code)
    assert out.stdout.splitlines()[-1] == "0 []", out.stdout + out.stderr


def test_library_logging_is_quiet_without_set_up() -> None:
    """Without the application configuring logging, a stoq warning goes nowhere (the `stoq`
    logger's NullHandler), not to stderr through logging's last-resort handler."""
    code = (
        "from stoq.log import get_logger\n"
        "get_logger('stoq.cli').warning('should not be printed')\n"
        "import logging; logging.getLogger('other').warning('printed')\n"
    )
    out = _python(code)
    assert out.returncode == 0 and out.stderr == "printed\n", out.stderr


@pytest.mark.parametrize("columns", [None, "100", "7", "0", "-5", "wide"])
def test_help_width_is_what_argparse_finds_with_shutil(
    columns: Optional[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from stoq.cli.flags import help_width

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert help_width() == shutil.get_terminal_size().columns - 2
