"""The comparisons behind drift.py: one function per boilerplate file, each listing differences.

A difference is a sentence naming the file, the part and how it differs. Intended differences
are not reported: extra dependencies, the version, the plugin's own code and extra test files.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from common import load_toml

#: Conformance class in stoq.testing for each role.
SUITES = {
    "provider": "ProviderConformance",
    "worker": "WorkerConformance",
    "dispatcher": "DispatcherConformance",
    "deep_dispatcher": "DeepDispatcherConformance",
    "archiver": "ArchiverConformance",
    "connector": "ConnectorConformance",
    "decorator": "DecoratorConformance",
}
#: [project] keys whose values may differ from the template's on purpose.
FREE_PROJECT_KEYS = {"version", "dependencies", "optional-dependencies"}
#: [project] keys a plugin may add that the template does not render: commands it ships.
EXTRA_PROJECT_KEYS = {"scripts"}
#: [tool] keys that are the plugin's own: its facts for the catalogue, and a wheel build hook
#: with the files it replaces (the fuzzyhash plugin compiles its C extension that way).
OWN_TOOL_KEYS = ("stoq.", "hatch.build.targets.wheel.hooks.", "hatch.build.targets.wheel.exclude")


def _requirement_names(requirements: Any) -> Dict[str, str]:
    """``{normalised name: requirement text}`` so specifiers compare without spacing noise."""
    from packaging.requirements import Requirement

    out = {}
    for text in requirements or []:
        req = Requirement(text)
        out[req.name.lower().replace("_", "-")] = str(req)
    return out


def _missing_requirements(where: str, wanted: Any, have: Any) -> List[str]:
    have_names = _requirement_names(have)
    return [
        f"pyproject.toml: {where} lacks the template's {text!r}"
        + (f" (has {have_names[name]!r})" if name in have_names else "")
        for name, text in _requirement_names(wanted).items()
        if have_names.get(name) != text
    ]


def _table_paths(table: Mapping[str, Any], prefix: str = "") -> Dict[str, Any]:
    """Leaf key paths of nested tables: ``{"tool.hatch.build.targets.wheel.packages": [...]}``."""
    out: Dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_table_paths(value, path + "."))
        else:
            out[path] = value
    return out


def compare_pyproject(actual: Path, rendered: Path) -> List[str]:
    """Same tables and keys; same build system, metadata, entry point and wheel target."""
    have, want = load_toml(actual), load_toml(rendered)
    diffs = [
        f"pyproject.toml: table [{k}] is not in the template" for k in sorted(set(have) - set(want))
    ]
    diffs += [f"pyproject.toml: table [{k}] is missing" for k in sorted(set(want) - set(have))]
    if have.get("build-system") != want["build-system"]:
        diffs.append(
            f"pyproject.toml: [build-system] is {have.get('build-system')}, template has {want['build-system']}"
        )
    project, template = have.get("project", {}), want["project"]
    assert isinstance(project, dict) and isinstance(template, dict)
    diffs += [
        f"pyproject.toml: [project] key {k!r} is not in the template"
        for k in sorted(set(project) - set(template) - EXTRA_PROJECT_KEYS)
    ]
    diffs += [
        f"pyproject.toml: [project] key {k!r} is missing"
        for k in sorted(set(template) - set(project))
    ]
    for key in sorted(set(template) & set(project) - FREE_PROJECT_KEYS):
        if project[key] != template[key]:
            diffs.append(
                f"pyproject.toml: [project] {key} = {project[key]!r}, template renders {template[key]!r}"
            )
    diffs += _missing_requirements(
        "[project] dependencies", template.get("dependencies"), project.get("dependencies")
    )
    for extra, wanted in template.get("optional-dependencies", {}).items():
        have_extra = project.get("optional-dependencies", {}).get(extra)
        if have_extra is None:
            diffs.append(f"pyproject.toml: [project.optional-dependencies] {extra} is missing")
        else:
            diffs += _missing_requirements(
                f"[project.optional-dependencies] {extra}", wanted, have_extra
            )
    have_tool, want_tool = _table_paths(have.get("tool", {})), _table_paths(want.get("tool", {}))
    have_tool = {k: v for k, v in have_tool.items() if not k.startswith(OWN_TOOL_KEYS)}
    for key in sorted(set(have_tool) | set(want_tool)):
        if have_tool.get(key) != want_tool.get(key):
            diffs.append(
                f"pyproject.toml: [tool] {key} = {have_tool.get(key)!r}, template renders {want_tool.get(key)!r}"
            )
    return diffs


def _body_without_docstring(path: Path) -> List[str]:
    """The module's statements as source, docstring dropped (its wording is the plugin's own)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = tree.body[1:] if ast.get_docstring(tree) is not None else tree.body
    return [ast.unparse(node) + "\n" for node in body]


def compare_package_init(actual: Path, rendered: Path) -> List[str]:
    """The package ``__init__`` re-exports the plugin class exactly as the template does."""
    if not actual.is_file():
        return [f"{actual.name}: missing (the template renders it)"]
    have, want = _body_without_docstring(actual), _body_without_docstring(rendered)
    if have == want:
        return []
    diff = "".join(difflib.unified_diff(want, have, "template", "package", n=1))
    return [
        f"src/{actual.parent.name}/__init__.py differs from the template (docstring aside):\n{diff.rstrip()}"
    ]


def _conformance_classes(tree: ast.Module) -> Dict[str, List[str]]:
    """Test classes → the stoq.testing conformance suites they subclass."""
    found: Dict[str, List[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = [
                b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                for b in node.bases
            ]
            suites = [b for b in bases if b in SUITES.values()]
            if suites:
                found[node.name] = suites
    return found


def _plugin_name_of(tree: ast.Module, class_name: str) -> Optional[str]:
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                targets = (
                    item.targets
                    if isinstance(item, ast.Assign)
                    else [item.target]
                    if isinstance(item, ast.AnnAssign)
                    else []
                )
                value = getattr(item, "value", None)
                if any(
                    isinstance(t, ast.Name) and t.id == "plugin_name" for t in targets
                ) and isinstance(value, ast.Constant):
                    return str(value.value)
    return None


def compare_tests(project: Path, name: str, roles: List[str]) -> List[str]:
    """tests/test_<name>.py runs the conformance suite of every recorded role; tests/data exists."""
    diffs = []
    if not (project / "tests" / "data").is_dir():
        diffs.append("tests/data/ is missing (samples, or a .gitkeep)")
    module = project / "tests" / f"test_{name}.py"
    if not module.is_file():
        return [*diffs, f"tests/test_{name}.py is missing"]
    tree = ast.parse(module.read_text(encoding="utf-8"))
    classes = _conformance_classes(tree)
    covered = {suite for suites in classes.values() for suite in suites}
    for role in roles:
        if SUITES[role] not in covered:
            diffs.append(
                f"tests/test_{name}.py: no class subclasses stoq.testing.{SUITES[role]} (role {role})"
            )
    for class_name in classes:
        declared = _plugin_name_of(tree, class_name)
        if declared != name:
            diffs.append(
                f"tests/test_{name}.py: {class_name}.plugin_name is {declared!r}, expected {name!r}"
            )
    return diffs


def compare_roles(project: Path, name: str, entry: str, roles: List[str]) -> List[str]:
    """The entry point's class serves exactly the roles recorded in .cookiecutter.json."""
    from stoq.inventory import roles_from_source

    module, _, class_name = entry.partition(":")
    path = project / "src" / Path(*module.split(".")).with_suffix(".py")
    found = roles_from_source(path, class_name, module)
    if found is None:
        return [
            f"{path.relative_to(project)}: class {class_name} not found, or its roles cannot be read"
        ]
    if found != roles:
        return [
            f"{path.relative_to(project)}: {class_name} serves {found}, .cookiecutter.json records {roles}"
        ]
    return []
