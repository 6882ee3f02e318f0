"""v2-style plugin folders: a ``<name>.stoq`` INI file beside the plugin's module.

What v2 did with them, kept: the folders searched, ``min_stoq_version``, one plugin class per
module. Installed distributions are the other source of plugins (``stoq.sources``).
"""

from __future__ import annotations

import os
import sys
from configparser import Error as ConfigParserError

from stoq.__about__ import __version__
from stoq.config import StoqConfigParser, home_folder
from stoq.exceptions import StoqPluginException, StoqPluginLoadError
from stoq.log import get_logger
from stoq.plugins import BasePlugin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Type

__all__ = [
    "check_min_stoq_version",
    "folder_entries",
    "folder_plugin_class",
    "import_folder_module",
    "plugin_class_in",
    "plugin_folders",
    "read_stoq_file",
]

log = get_logger("stoq.loader")


def read_stoq_file(path: Path) -> StoqConfigParser:
    """The parsed ``.stoq`` file; unreadable or malformed files are a load error."""
    parser = StoqConfigParser()
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except (ConfigParserError, OSError, UnicodeDecodeError) as exc:
        raise StoqPluginLoadError(f"{path}: unreadable plugin file: {exc}") from exc
    return parser


def plugin_folders(
    plugin_dir_list: Sequence[str] = (), base_dir: Optional[str] = None
) -> List[Path]:
    """The v2 plugin folders to search, the one whose plugins win first.

    As in v2, a later ``plugin_dir_list`` folder overrides an earlier one. Below them come
    ``<base_dir>/plugins`` and ``$STOQ_HOME/plugins`` (where v2's ``stoq install`` put plugins),
    when they exist. A folder named twice counts once.
    """
    explicit = [os.path.expanduser(d) for d in plugin_dir_list]
    for folder in explicit:
        if not os.path.isdir(folder):
            log.warning("plugin folder %s does not exist; skipped", folder)
    implicit = (
        [os.path.join(os.path.expanduser(base_dir), "plugins")] if base_dir is not None else []
    )
    implicit.append(os.path.join(home_folder(), "plugins"))
    existing = [folder for folder in [*reversed(explicit), *implicit] if os.path.isdir(folder)]
    if not existing:  # the usual start: no pathlib (see stoq.config.home_folder)
        return []
    from pathlib import Path

    ordered: Dict[Path, Path] = {}
    for path in map(Path, existing):
        ordered.setdefault(path.resolve(), path)
    return list(ordered.values())


def folder_entries(folders: Iterable[Path]) -> Iterator[Tuple[str, Path, StoqConfigParser, Path]]:
    """``(name, stoq_file, parsed file, folder)`` for every readable ``.stoq`` file, in order.

    An unreadable file or one without ``[Core] Name`` is skipped with a warning, as in v2.
    """
    for folder in folders:
        for stoq_file in sorted(folder.rglob("*.stoq")):
            try:
                parser = read_stoq_file(stoq_file)
            except StoqPluginLoadError as exc:
                log.warning("%s", exc)
                continue
            name = parser.get("Core", "Name", fallback=None)
            if not name:
                log.warning("%s: no [Core] Name, ignored", stoq_file)
                continue
            yield name, stoq_file, parser, folder


def import_folder_module(name: str, stoq_file: Path, module: str) -> Any:
    """Import a v2 folder plugin's module (``Module`` of its .stoq file) from beside that file."""
    import importlib.util  # only for folder plugins: on Python 3.9 it imports ``typing``

    base = stoq_file.parent.joinpath(*module.split("."))
    package_init = base / "__init__.py"
    if package_init.is_file():
        spec = importlib.util.spec_from_file_location(
            f"stoq_plugin_dir_{name}", package_init, submodule_search_locations=[str(base)]
        )
    else:
        spec = importlib.util.spec_from_file_location(
            f"stoq_plugin_dir_{name}", base.with_suffix(".py")
        )
    if spec is None or spec.loader is None or not os.path.isfile(spec.origin or ""):
        raise StoqPluginLoadError(f"{stoq_file}: module {module!r} not found beside it", name)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def plugin_class_in(module: Any, name: str) -> Type[BasePlugin]:
    """The one plugin class a v2 folder module defines; none, or more than one, is refused (v2)."""
    import inspect  # folder plugins only: with ast and dis, ~30 M instructions of a start

    classes = [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, BasePlugin)
        and obj.__module__ == module.__name__
        and not inspect.isabstract(obj)
    ]
    if not classes:
        raise StoqPluginLoadError(f"plugin {name!r}: no plugin class in {module.__file__}", name)
    if len(classes) > 1:
        names = ", ".join(c.__name__ for c in classes)
        raise StoqPluginLoadError(
            f"plugin {name!r}: {module.__file__} defines {len(classes)} plugin classes ({names});"
            " a plugin module must define exactly one",
            name,
        )
    return classes[0]


def check_min_stoq_version(name: str, stoq_file: Path, config: StoqConfigParser) -> None:
    """Refuse a folder plugin whose ``min_stoq_version`` option names a newer core."""
    from packaging.version import InvalidVersion, Version

    wanted = config.get("options", "min_stoq_version", fallback="").strip()
    if not wanted:
        return
    try:
        too_new = Version(wanted) > Version(__version__)
    except InvalidVersion:
        raise StoqPluginLoadError(
            f"plugin {name!r}: {stoq_file}: min_stoq_version = {wanted!r} is not a version", name
        ) from None
    if too_new:
        raise StoqPluginLoadError(
            f"plugin {name!r}: {stoq_file} needs stoQ {wanted} or newer (min_stoq_version),"
            f" but this core is stoq-framework {__version__}",
            name,
        )


def folder_plugin_class(name: str, stoq_file: Path) -> Tuple[Type[BasePlugin], StoqConfigParser]:
    """Import a folder plugin's class as its ``.stoq`` file describes, checking its version."""
    config = read_stoq_file(stoq_file)
    check_min_stoq_version(name, stoq_file, config)
    module_name = config.get("Core", "Module", fallback=name)
    try:
        module = import_folder_module(name, stoq_file, module_name)
    except StoqPluginException:
        raise
    except Exception as exc:
        raise StoqPluginLoadError(
            f"plugin {name!r}: importing {module_name} from {stoq_file.parent} failed:"
            f" {type(exc).__name__}: {exc}",
            name,
        ) from exc
    return plugin_class_in(module, name), config
