"""``stoq config``: the effective settings and where each came from; ``--check`` validates a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from stoq.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    ROLE_OF_SETTING,
    CliError,
    build_stoq,
    close_matches_hint,
    setup_logging,
    start_logging,
)
from stoq.cli.flags import add_stoq_flags, flag_for
from stoq.cli.listing import format_table

__all__ = ["add_parser", "check_file", "effective_config", "handle"]

DESCRIPTION = """\
Show the effective configuration: every [core] setting with its value and where it came from
(flag, file <path>, profile <name>, or default), and the plugin options given in the config
file or with --plugin-opts. Precedence, highest first: flag, file, profile, default. Options a
plugin ships as its own defaults apply below these and are not shown.

Give the same flags as to 'stoq scan' or 'stoq run' to see what they would use.

--check validates a configuration file (--config FILE, else the one in $STOQ_HOME): syntax,
known [core] keys, value types, plugin folders, and that every plugin it names is installed.
It prints each problem on its own line and exits 2 if there is any, 0 if the file is good."""

EXAMPLES = """\
examples:
  stoq config
  stoq config --config /etc/stoq/stoq.toml --max-recursion 3
  stoq config --json | jq '.core.dispatchers'
  stoq config --check --config /etc/stoq/stoq.toml"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        help="show the effective configuration, or --check a config file",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check", action="store_true", help="validate the configuration file and exit"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_stoq_flags(parser, providers=True)
    parser.set_defaults(handler=handle)


def _source(key: str, source: str) -> str:
    return f"flag {flag_for(key)}" if source == "argument" else source


def effective_config(args: argparse.Namespace) -> Dict[str, Any]:
    """Settings with sources, and plugin options, as one JSON-ready dict."""
    from stoq.config import split_list, stoq_home
    from stoq.settings import PLUGIN_LIST_KEYS, load_profile

    stoq = build_stoq(args)
    settings = stoq.settings
    profile = load_profile(args.profile) if args.profile not in ("", "none") else None
    core: Dict[str, Any] = {}
    for key, value in settings.as_dict().items():
        entry: Dict[str, Any] = {"value": value, "source": _source(key, settings.sources[key])}
        if (
            key in PLUGIN_LIST_KEYS
            and profile is not None
            and settings.sources[key].startswith("profile")
        ):
            skipped = [n for n in split_list(profile.core.get(key, [])) if n not in value]
            if skipped:
                entry["skipped"] = skipped
        core[key] = entry
    plugins: Dict[str, Dict[str, Any]] = {}
    for name, options in stoq.config.plugins.items():
        for key, value in options.items():
            plugins.setdefault(name, {})[key] = {
                "value": value,
                "source": f"file {stoq.config.path}",
            }
    for name, key, value in args.plugin_opts:
        plugins.setdefault(name, {})[key] = {"value": value, "source": "flag --plugin-opts"}
    stoq.close()
    return {
        "config_file": str(stoq.config.path) if stoq.config.path else None,
        "stoq_home": str(stoq_home()),
        "profile": profile and args.profile,
        "core": core,
        "plugins": plugins,
    }


def _show(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)


def _print_text(report: Dict[str, Any]) -> None:
    where = report["config_file"] or (
        f"none (no stoq.toml or stoq.cfg in STOQ_HOME={report['stoq_home']}; built-in defaults apply)"
    )
    print(f"configuration file: {where}")
    print(f"profile: {report['profile'] or 'none'}\n")
    rows = [("[core] KEY", "VALUE", "SOURCE")]
    for key, entry in report["core"].items():
        note = (
            f" (not installed, skipped: {', '.join(entry['skipped'])})"
            if entry.get("skipped")
            else ""
        )
        rows.append((key, _show(entry["value"]), entry["source"] + note))
    print("\n".join(format_table(rows, 10_000)))
    if report["plugins"]:
        rows = [("[plugins] NAME.OPTION", "VALUE", "SOURCE")]
        for name, options in report["plugins"].items():
            rows += [
                (f"{name}.{key}", _show(e["value"]), e["source"]) for key, e in options.items()
            ]
        print()
        print("\n".join(format_table(rows, 10_000)))


def _known_core_keys() -> List[str]:
    from stoq.settings import SETTING_KEYS

    return [*SETTING_KEYS, "provider_consumers"]


def check_file(path: Path, extra_plugin_dirs: Optional[List[str]] = None) -> List[str]:
    """Every problem in one configuration file, one line each (empty: the file is good)."""
    import difflib

    from stoq.config import ConfigFile, read_config_file, split_list
    from stoq.exceptions import StoqConfigError, StoqDuplicatePlugin
    from stoq.inventory import inventory
    from stoq.options import CORE_OPTIONS, core_options
    from stoq.settings import PLUGIN_LIST_KEYS, resolve_settings
    from stoq.sources import choose_source, discover

    config = read_config_file(path)  # a syntax error raises, naming the file
    problems: List[str] = []
    known = _known_core_keys()
    for key, value in config.core.items():
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = (
                f"did you mean {near[0]!r}?" if near else f"known keys: {', '.join(sorted(known))}"
            )
            problems.append(f"{path}: [core] unknown key {key!r}; {hint}")
            continue
        try:
            resolve_settings({}, ConfigFile(path=path, core={key: value}))
        except StoqConfigError as exc:
            problems.append(str(exc))
    dirs = config.core.get("plugin_dir_list", [])
    folders = split_list(dirs) if isinstance(dirs, (str, list, tuple)) else []
    folders += list(extra_plugin_dirs or [])
    for folder in folders:
        if not Path(folder).expanduser().is_dir():
            problems.append(f"{path}: [core] plugin_dir_list: folder {folder!r} does not exist")
    existing = [f for f in folders if Path(f).expanduser().is_dir()]
    available = discover(existing)
    roles = {info.name: info for info in inventory(existing, check=False)}
    for key in PLUGIN_LIST_KEYS:
        value = config.core.get(key, [])
        for name in split_list(value) if isinstance(value, (str, list, tuple)) else []:
            info = roles.get(name)
            if name not in available:
                hint = close_matches_hint(name, sorted(available))
                problems.append(
                    f"{path}: [core] {key} names plugin {name!r}, which is not installed; {hint}"
                )
            else:
                try:
                    choose_source(name, available[name])
                except StoqDuplicatePlugin as exc:
                    problems.append(f"{path}: [core] {key} names plugin {name!r}: {exc}")
                    continue
                if info is not None and info.roles and ROLE_OF_SETTING[key] not in info.roles:
                    problems.append(
                        f"{path}: [core] {key} names plugin {name!r}, which is not a"
                        f" {ROLE_OF_SETTING[key]} (its roles: {', '.join(info.roles)})"
                    )
    for name, options in config.plugins.items():
        for key, value in options.items():
            if key in CORE_OPTIONS:
                try:
                    core_options(name, {key: value}, 60.0)
                except StoqConfigError as exc:
                    problems.append(f"{path}: [plugins.{name}] {exc}")
    for name in config.plugins:
        if name not in available:
            print(
                f"stoq: warning: {path}: options for plugin {name!r}, which is not installed;"
                f" {close_matches_hint(name, sorted(available))}",
                file=sys.stderr,
            )
    return problems


def _check(args: argparse.Namespace) -> int:
    from stoq.config import find_config_file, stoq_home

    setup_logging(args.log_level or "WARNING", None)
    path = find_config_file(args.config)
    if path is None:
        home = stoq_home()
        raise CliError(
            f"no configuration file to check: give one with --config FILE"
            f" (none found at {home / 'stoq.toml'} or {home / 'stoq.cfg'})"
        )
    problems = check_file(path, args.plugin_dir)
    for problem in problems:
        print(f"stoq: error: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    print(f"{path}: OK")
    return EXIT_OK


def handle(args: argparse.Namespace) -> int:
    if args.check:
        return _check(args)
    start_logging(args)
    report = effective_config(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_text(report)
    return EXIT_OK
