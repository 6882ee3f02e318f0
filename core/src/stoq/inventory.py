"""What plugins are installed: names, roles, versions and whether each one loads.

A contrib plugin's roles are the facts its distribution recorded when the core was built (the
catalogue, ``stoq.catalogue``). For other plugins they are read from the module's source with
``ast`` (its class's base classes), so a plugin whose import fails still shows what it is meant
to be; only when the source cannot answer (a base class from an unreadable module, a computed
base) is the class imported.
``stoq list`` is the main user; it prints what ``inventory()`` returns.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from stoq.config import StoqConfigParser
from stoq.exceptions import StoqDuplicatePlugin
from stoq.plugins import ROLES, BasePlugin, roles_of
from stoq.sources import PluginSource, choose_source, discover

__all__ = ["PluginInfo", "inventory", "roles_from_source"]

#: Base-class name in ``stoq.plugins`` → role; ``BasePlugin`` marks a plugin with no role yet.
_ROLE_BASES = {cls.__name__: role for role, cls in ROLES.items()}
_PLUGIN_MARK = "<plugin>"
_MAX_DEPTH = 8


@dataclass
class PluginInfo:
    """One installed plugin as ``stoq list`` shows it."""

    name: str
    roles: List[str]
    version: Optional[str]
    distribution: Optional[str]
    summary: Optional[str]
    source: str
    status: str  # "ok", "error", "shadowed" (a plugin folder wins), or "unchecked" (no import)
    error: Optional[str] = None
    #: Where roles came from: "catalogue" (recorded when the core was built), "source" (ast),
    #: "import", or "unknown" (none worked).
    roles_from: str = field(default="source", repr=False)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _module_file(module: str) -> Optional[Path]:
    """The ``.py`` file of a module, found without executing it (or its parent packages)."""
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
        for index in range(1, len(parts)):
            if spec is None or not spec.submodule_search_locations:
                return None
            spec = importlib.machinery.PathFinder.find_spec(
                ".".join(parts[: index + 1]), list(spec.submodule_search_locations)
            )
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


class _ModuleSource:
    """One parsed module: its top-level classes and what its imports bind names to."""

    def __init__(self, module: Optional[str], path: Path) -> None:
        self.module = module
        self.tree = ast.parse(path.read_bytes(), str(path))
        self.classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        self.imports: Dict[str, Tuple[str, Optional[str]]] = {}
        package = self._package(path)
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom):
                origin = self._absolute(node.module, node.level, package)
                for alias in node.names:
                    if origin is not None:
                        self.imports[alias.asname or alias.name] = (origin, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.imports[bound] = (alias.name if alias.asname else bound, None)

    def _package(self, path: Path) -> Optional[str]:
        if self.module is None:
            return None
        return self.module if path.name == "__init__.py" else self.module.rpartition(".")[0]

    @staticmethod
    def _absolute(name: Optional[str], level: int, package: Optional[str]) -> Optional[str]:
        if level == 0:
            return name
        if not package:
            return None
        parts = package.split(".")
        if level - 1 >= len(parts):
            return None
        base = ".".join(parts[: len(parts) - (level - 1)])
        return f"{base}.{name}" if name else base


def _roles_of_name(module: str, attr: str, depth: int) -> Optional[Set[str]]:
    """Roles contributed by ``module.attr`` used as a base class; None if it cannot be told."""
    if module == "stoq" or module == "stoq.plugins" or module.startswith("stoq.plugins."):
        if attr in _ROLE_BASES:
            return {_ROLE_BASES[attr], _PLUGIN_MARK}
        if attr == BasePlugin.__name__:
            return {_PLUGIN_MARK}
        return None
    path = _module_file(module)
    if path is None:
        return None
    return _class_roles(_ModuleSource(module, path), attr, depth + 1)


def _base_roles(source: _ModuleSource, base: ast.expr, depth: int) -> Optional[Set[str]]:
    chain: List[str] = []
    node = base
    while isinstance(node, ast.Attribute):
        chain.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    chain.insert(0, node.id)
    if len(chain) == 1:
        if chain[0] in source.classes:
            return _class_roles(source, chain[0], depth + 1)
        if chain[0] == "object":
            return set()
    bound = source.imports.get(chain[0])
    if bound is None:
        return None
    module, attr = bound
    dotted = ([module] if attr is None else [module, attr]) + chain[1:]
    if len(dotted) < 2:
        return None
    return _roles_of_name(".".join(dotted[:-1]), dotted[-1], depth)


def _class_roles(source: _ModuleSource, class_name: str, depth: int = 0) -> Optional[Set[str]]:
    node = source.classes.get(class_name)
    if node is None or depth > _MAX_DEPTH:
        return None
    roles: Set[str] = set()
    for base in node.bases:
        found = _base_roles(source, base, depth)
        if found is None:
            return None
        roles |= found
    return roles


def _ordered(roles: Set[str]) -> List[str]:
    return [role for role in ROLES if role in roles]


def roles_from_source(
    path: Path, class_name: str, module: Optional[str] = None
) -> Optional[List[str]]:
    """The roles of ``class_name`` in the file ``path``, from its source; None if unknown."""
    try:
        roles = _class_roles(_ModuleSource(module, path), class_name)
    except (OSError, SyntaxError, ValueError):
        return None
    if roles is None or _PLUGIN_MARK not in roles:
        return None
    return _ordered(roles)


def _docstring(path: Optional[Path], class_name: Optional[str]) -> Optional[str]:
    if path is None or class_name is None:
        return None
    try:
        node = _ModuleSource(None, path).classes.get(class_name)
    except (OSError, SyntaxError, ValueError):
        return None
    text = ast.get_docstring(node) if node is not None else None
    return text.strip().splitlines()[0] if text and text.strip() else None


def _folder_module_file(source: PluginSource) -> Tuple[Optional[Path], Optional[str]]:
    """A v2 plugin folder: the module named in its .stoq file, and its plugin class name."""
    stoq_file = Path(source.location)
    parser = StoqConfigParser()
    try:
        parser.read(stoq_file, encoding="utf-8")
    except Exception:  # noqa: BLE001 - an unreadable file is reported when importing
        return None, None
    base = stoq_file.parent.joinpath(*parser.get("Core", "Module", fallback=source.name).split("."))
    path = base / "__init__.py" if (base / "__init__.py").is_file() else base.with_suffix(".py")
    if not path.is_file():
        return None, None
    try:
        classes = sorted(_ModuleSource(None, path).classes)
    except (OSError, SyntaxError, ValueError):
        return path, None
    for name in classes:  # the loader takes the first plugin class by name, as inspect does
        if roles_from_source(path, name) is not None:
            return path, name
    return path, None


def _import_class(source: PluginSource) -> type:
    """Import the plugin's class exactly as the loader would (raises on failure)."""
    from stoq.folders import folder_plugin_class
    from stoq.sources import check_core_requirement

    if source.kind == "entry point":
        check_core_requirement(source)
        assert source.entry_point is not None
        loaded = source.entry_point.load()
        if not (isinstance(loaded, type) and issubclass(loaded, BasePlugin)):
            raise TypeError(f"{source.location} is not a stoq plugin class")
        return loaded
    return folder_plugin_class(source.name, Path(source.location))[0]


def _catalogue_roles() -> Dict[Tuple[str, Optional[str], Optional[str]], List[str]]:
    """Roles the core's build recorded for each contrib plugin (name, distribution, version):
    facts from the plugin's own metadata, so no source has to be read for them."""
    from stoq.catalogue import load_catalogue

    try:
        entries = load_catalogue()
    except (OSError, ValueError):  # a core built without it: read the sources instead
        return {}
    return {(e.name, e.distribution, e.version): list(e.roles) for e in entries}


def _describe(
    source: PluginSource,
    plugins_per_dist: Dict[Optional[str], int],
    check: bool,
    catalogue_roles: Dict[Tuple[str, Optional[str], Optional[str]], List[str]],
) -> PluginInfo:
    roles_from = "source"
    if source.kind == "entry point":
        module, _, attr = source.location.partition(":")
        class_name: Optional[str] = attr.strip() or None
        path = _module_file(module.strip())
        roles = catalogue_roles.get((source.name, source.distribution, source.version))
        if roles is not None:
            roles_from = "catalogue"
        elif path and class_name:
            roles = roles_from_source(path, class_name, module.strip())
    else:
        path, class_name = _folder_module_file(source)
        roles = roles_from_source(path, class_name) if path and class_name else None
    summary = source.summary
    if (
        source.kind != "entry point"
        or plugins_per_dist.get(source.distribution, 0) > 1
        or not summary
    ):
        summary = _docstring(path, class_name) or summary
    info = PluginInfo(
        name=source.name,
        roles=roles or [],
        version=source.version,
        distribution=source.distribution,
        summary=summary,
        source=source.describe(),
        status="unchecked",
        roles_from=roles_from,
    )
    if check or roles is None:
        try:
            plugin_class = _import_class(source)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin is listed, not fatal
            info.status, info.error = "error", f"{type(exc).__name__}: {exc}".splitlines()[0]
            if roles is None:
                info.roles_from = "unknown"
        else:
            info.status = "ok"
            if roles is None:
                info.roles, info.roles_from = roles_of(plugin_class), "import"
    return info


def inventory(
    plugin_dirs: Sequence[str] = (), check: bool = True, base_dir: Optional[str] = None
) -> List[PluginInfo]:
    """Every plugin stoq can find, sorted by name.

    ``check`` imports each plugin's class to report whether it loads; without it, plugin code
    is imported only when its roles cannot be read from its source.
    """
    found = discover(plugin_dirs, base_dir)
    catalogue_roles = _catalogue_roles()
    per_dist: Dict[Optional[str], int] = {}
    for sources in found.values():
        for source in sources:
            per_dist[source.distribution] = per_dist.get(source.distribution, 0) + 1
    infos: List[PluginInfo] = []
    for name in sorted(found):
        sources = found[name]
        winner: Optional[PluginSource] = sources[0]
        problem = None
        if len(sources) > 1:
            try:
                winner = choose_source(name, sources)
            except StoqDuplicatePlugin as exc:
                winner, problem = None, str(exc)
        for source in sources:
            info = _describe(source, per_dist, check, catalogue_roles)
            if problem is not None:
                info.status, info.error = "error", problem
            elif winner is not None and source is not winner:
                info.status, info.error = "shadowed", f"shadowed by {winner.describe()}"
            infos.append(info)
    return infos
