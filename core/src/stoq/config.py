"""Reading configuration files: ``stoq.toml`` (typed) and v2's ``stoq.cfg`` (INI).

A file yields two things: ``[core]`` values and per-plugin options. Merging them with
arguments and defaults is ``stoq.settings``' job.
"""

from __future__ import annotations

import json
import os
import sys
from configparser import ConfigParser
from configparser import Error as ConfigParserError

from stoq.exceptions import StoqConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Dict, List, Optional, Set, Union

    #: A file's location as given: text or a path object.
    StrPath = Union[str, os.PathLike[str]]

__all__ = [
    "ConfigFile",
    "StoqConfigParser",
    "config_from_tables",
    "find_config_file",
    "home_folder",
    "option_to_text",
    "parse_scalar",
    "read_config_file",
    "split_list",
    "stoq_home",
]


class StoqConfigParser(ConfigParser):
    """A ConfigParser without interpolation (``%`` is literal) and with list/set/JSON getters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("interpolation", None)
        super().__init__(*args, **kwargs)

    def getlist(self, section: str, option: str, fallback: Any = None, **kwargs: Any) -> Any:
        """A comma-separated value as a list of stripped, non-empty strings."""
        value = self.get(section, option, fallback=None, **kwargs)
        if value is None:
            return fallback
        return [item.strip() for item in value.split(",") if item.strip()]

    def getset(self, section: str, option: str, fallback: Any = None, **kwargs: Any) -> Any:
        """Like ``getlist`` but as a set."""
        value = self.getlist(section, option, fallback=None, **kwargs)
        return fallback if value is None else set(value)

    def getjson(self, section: str, option: str, fallback: Any = None, **kwargs: Any) -> Any:
        """A JSON value; a parse error names the section and option."""
        value = self.get(section, option, fallback=None, **kwargs)
        if value is None:
            return fallback
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise StoqConfigError(f"[{section}] {option}: expected JSON ({exc})") from exc


class ConfigFile:
    """The contents of one configuration file, typed where the format allows."""

    __slots__ = ("core", "path", "plugins")

    def __init__(
        self,
        path: Optional[StrPath],
        core: Optional[Dict[str, Any]] = None,
        plugins: Optional[Dict[str, Dict[str, Any]]] = None,
    ) -> None:
        self.path = path
        self.core: Dict[str, Any] = {} if core is None else core
        self.plugins: Dict[str, Dict[str, Any]] = {} if plugins is None else plugins


def stoq_home() -> Path:
    """``$STOQ_HOME``, or ``~/.stoq``; it need not exist."""
    from pathlib import Path

    return Path(home_folder())


def home_folder() -> str:
    """``stoq_home()`` as text. A start without configuration files uses only this: on Python
    3.11 and 3.12 importing ``pathlib`` imports ``urllib.parse`` and ``ipaddress`` too, ~6 % of
    a small ``stoq scan``."""
    return os.environ.get("STOQ_HOME") or os.path.join(os.path.expanduser("~"), ".stoq")


def find_config_file(explicit: Optional[StrPath] = None) -> Optional[Path]:
    """The file to read: the explicit one (must exist), else stoq.toml, then stoq.cfg in home."""
    if explicit is None:
        home = home_folder()
        found = [os.path.join(home, n) for n in ("stoq.toml", "stoq.cfg")]
        explicit = next((path for path in found if os.path.isfile(path)), None)
        if explicit is None:
            return None
    from pathlib import Path

    path = Path(explicit)
    if not path.is_file():
        raise StoqConfigError(f"{path}: configuration file not found")
    return path


def read_config_file(path: Optional[StrPath]) -> ConfigFile:
    """Parse a TOML or INI file (chosen by suffix); no file gives an empty ConfigFile."""
    if path is None:
        return ConfigFile(path=None)
    if os.path.splitext(os.fspath(path))[1] == ".toml":
        return _read_toml(path)
    return _read_ini(path)


def _read_toml(path: StrPath) -> ConfigFile:
    # Imported here: ~9 M instructions, and a start without a TOML file to read needs none.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise StoqConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from_tables(path, data)


def config_from_tables(path: StrPath, data: Dict[str, Any]) -> ConfigFile:
    """A TOML file's tables, as parsed, checked: ``[core]`` and ``[plugins.<name>]`` only."""
    core = data.get("core", {})
    plugins = data.get("plugins", {})
    for section, value in (("core", core), ("plugins", plugins)):
        if not isinstance(value, dict):
            raise StoqConfigError(f"{path}: [{section}] must be a table")
    for name, opts in plugins.items():
        if not isinstance(opts, dict):
            raise StoqConfigError(f"{path}: [plugins.{name}] must be a table of options")
    unknown = sorted(set(data) - {"core", "plugins"})
    if unknown:
        raise StoqConfigError(
            f"{path}: unknown top-level table(s) {', '.join(unknown)};"
            " use [core] and [plugins.<name>]"
        )
    return ConfigFile(path=path, core=dict(core), plugins={k: dict(v) for k, v in plugins.items()})


def _read_ini(path: StrPath) -> ConfigFile:
    parser = StoqConfigParser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except (ConfigParserError, UnicodeDecodeError) as exc:
        raise StoqConfigError(f"{path}: not a valid INI file: {exc}") from exc
    sections: Set[str] = set(parser.sections())
    core = dict(parser.items("core")) if "core" in sections else {}
    plugins = {name: dict(parser.items(name)) for name in sorted(sections - {"core"})}
    return ConfigFile(path=path, core=core, plugins=plugins)


def option_to_text(value: Any) -> str:
    """How a typed option is written into a plugin's ConfigParser ``options`` section."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple, set)):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def parse_scalar(text: str) -> Any:
    """Type a command-line value: true/false, integers and floats keep their type."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def split_list(value: Any) -> List[str]:
    """A list setting from TOML (array) or INI/CLI (comma-separated string)."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]
