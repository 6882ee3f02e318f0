"""The engine's settings and where each value came from.

Precedence, for every key: explicit argument → configuration file → profile → built-in default.
"""

from __future__ import annotations

import json
import os

from stoq.config import ConfigFile, config_from_tables, read_config_file, split_list
from stoq.exceptions import StoqConfigError
from stoq.log import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = [
    "PLUGIN_LIST_KEYS",
    "SETTING_KEYS",
    "CoreSettings",
    "load_profile",
    "resolve_settings",
    "setting_value",
]

log = get_logger(__name__)

GIB = 1024**3
MIB = 1024**2

#: Settings that name plugins, one list per role.
PLUGIN_LIST_KEYS = (
    "providers",
    "source_archivers",
    "dest_archivers",
    "connectors",
    "dispatchers",
    "deep_dispatchers",
    "decorators",
    "always_dispatch",
)


class CoreSettings:
    """Every ``[core]`` key, typed, with the built-in defaults: class attributes, and lists of
    each instance's own (a plain class: ``dataclasses`` costs a sixth of ``stoq scan``'s start)."""

    providers: List[str]
    source_archivers: List[str]
    dest_archivers: List[str]
    connectors: List[str]
    dispatchers: List[str]
    deep_dispatchers: List[str]
    decorators: List[str]
    always_dispatch: List[str]
    plugin_dir_list: List[str]
    max_queue: int = 100
    max_recursion: int = 10
    max_dispatch_passes: int = 1
    max_payloads: int = 10000
    max_total_bytes: int = GIB
    max_payload_size: int = 256 * MIB
    plugin_timeout: float = 60.0
    consumers: int
    log_level: str = "INFO"
    log_dir: Optional[str] = None
    #: The result cache: "" (off), "sqlite", "sqlite:PATH" or "redis://HOST:PORT/DB".
    result_cache: str = ""
    result_cache_ttl: float = 7 * 86400.0
    result_cache_max_bytes: int = GIB
    result_cache_max_entry_bytes: int = 16 * MIB
    #: key → "argument", "file <path>", "profile <name>" or "default".
    sources: Dict[str, str]

    def __init__(self) -> None:
        for key in (*PLUGIN_LIST_KEYS, "plugin_dir_list"):
            setattr(self, key, [])
        self.consumers = os.cpu_count() or 1
        self.sources = {}

    def as_dict(self) -> Dict[str, Any]:
        return {key: getattr(self, key) for key in SETTING_KEYS}


#: Every [core] key, in declaration order.
SETTING_KEYS = [key for key in CoreSettings.__annotations__ if key != "sources"]
_ALIASES = {"provider_consumers": "consumers"}
_DEFAULTS = CoreSettings()


def _coerce(key: str, value: Any, where: str) -> Any:
    """Check and convert one value to the type of its key; errors name where it came from."""
    default = getattr(_DEFAULTS, key)
    try:
        if key == "log_dir":
            return None if value in (None, "") else str(value)
        if isinstance(default, list):
            if not isinstance(value, (str, list, tuple)):
                raise TypeError
            return list(dict.fromkeys(split_list(value)))  # a name listed twice runs once
        if isinstance(default, int):
            if isinstance(value, (bool, float)):
                raise TypeError
            number = int(value)
            if number < (1 if key in ("max_queue", "consumers") else 0):
                raise ValueError
            return number
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError
            seconds = float(value)
            if seconds <= 0:
                raise ValueError
            return seconds
        if not isinstance(value, str):
            raise TypeError
        return value
    except (TypeError, ValueError):
        expected = {list: "a list of plugin names", int: "a whole number"}.get(
            type(default), "a positive number" if isinstance(default, float) else "a string"
        )
        if key == "log_dir":
            expected = "a folder path"
        raise StoqConfigError(f"{where}: [core] {key} = {value!r}: expected {expected}") from None


def setting_value(key: str, value: Any, where: str) -> Any:
    """``value`` checked and converted for ``[core] key``; ``StoqConfigError`` if it cannot be."""
    if key not in SETTING_KEYS:
        raise StoqConfigError(f"{where}: unknown [core] key {key!r}")
    return _coerce(key, value, where)


def _normalise(values: Mapping[str, Any], where: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for raw_key, value in values.items():
        key = _ALIASES.get(raw_key, raw_key)
        if key not in SETTING_KEYS:
            log.warning("%s: unknown [core] key %r ignored", where, raw_key)
            continue
        out[key] = _coerce(key, value, where)
    return out


def load_profile(name: str) -> ConfigFile:
    """A profile shipped with the core (``stoq/profiles/<name>.toml``), read from the installed
    package's folder (``importlib.resources`` imported zipfile and tempfile: ~10 ms a start).

    Its tables are read from the ``<name>.json`` beside it (a test keeps the two equal):
    importing ``tomllib`` cost ~9 M instructions of every ``stoq scan``.
    """
    path = os.path.join(os.path.dirname(__file__), "profiles", f"{name}.toml")
    if not os.path.isfile(path):
        raise StoqConfigError(f"profile {name!r} does not exist")
    try:
        with open(f"{path[: -len('.toml')]}.json", encoding="utf-8") as handle:
            return config_from_tables(path, json.load(handle))
    except FileNotFoundError:
        return read_config_file(path)


def resolve_settings(
    explicit: Mapping[str, Any],
    config: ConfigFile,
    profile: Optional[ConfigFile] = None,
    profile_name: str = "",
) -> CoreSettings:
    """Merge the layers key by key, recording the source of every value."""
    layers: List[Tuple[str, Dict[str, Any]]] = [("default", {})]
    if profile is not None:
        layers.append(
            (f"profile {profile_name}", _normalise(profile.core, f"profile {profile_name}"))
        )
    if config.path is not None:
        layers.append((f"file {config.path}", _normalise(config.core, str(config.path))))
    given = {k: v for k, v in explicit.items() if v is not None}
    layers.append(("argument", _normalise(given, "argument")))
    settings = CoreSettings()
    for key in SETTING_KEYS:
        settings.sources[key] = "default"
        for source, values in layers:
            if key in values:
                setattr(settings, key, values[key])
                settings.sources[key] = source
    return settings
