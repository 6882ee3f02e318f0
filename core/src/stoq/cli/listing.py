"""``stoq list``: the installed plugins, what they do, and whether they load."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import List, Sequence

from stoq.cli.common import EXIT_OK, start_logging
from stoq.cli.flags import add_config_flags

__all__ = ["add_parser", "format_table", "handle"]

DESCRIPTION = """\
List the plugins stoq can find: installed distributions' 'stoq.plugins' entry points and
v2-style plugin folders (--plugin-dir, or plugin_dir_list in the config file).

Roles are read from each plugin's source without running it. Each plugin is imported to
check that it loads (a failure is shown with its reason); --no-import skips that check.
--json prints a list of objects with name, roles, version, distribution, summary, source,
status ("ok", "error" or "unchecked") and error.

--available lists instead the contrib plugins that can be installed (the catalogue shipped
with the core), marking those already installed; install one with 'stoq install NAME'."""

EXAMPLES = """\
examples:
  stoq list
  stoq list --json | jq -r '.[] | select(.status == "error") | .name + ": " + .error'
  stoq list --plugin-dir ~/stoq-plugins
  stoq list --available"""

_COLUMNS = ("NAME", "ROLES", "VERSION", "DISTRIBUTION", "STATUS", "SUMMARY")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "list",
        help="installed plugins with roles, version, summary and load status",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--no-import", action="store_true", help="do not import plugins to check that they load"
    )
    parser.add_argument(
        "--available",
        action="store_true",
        help="the contrib plugins that can be installed, marking those that are",
    )
    add_config_flags(parser, profile=False)
    parser.set_defaults(handler=handle, profile="none")


def format_table(rows: Sequence[Sequence[str]], width: int) -> List[str]:
    """Left-aligned columns; the last column is cut to fit ``width``."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        head = "  ".join(cell.ljust(w) for cell, w in zip(row, widths))
        room = max(width - len(head) - 2, 20)
        last = row[-1] if len(row[-1]) <= room else row[-1][: room - 1] + "…"
        lines.append(f"{head}  {last}".rstrip())
    return lines


def _installed_version(distribution: str) -> str:
    if sys.version_info >= (3, 10):
        from importlib.metadata import PackageNotFoundError, version
    else:  # pragma: no cover - exercised on 3.9 only
        from importlib_metadata import PackageNotFoundError, version
    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


def _available(as_json: bool) -> int:
    """The catalogue: every contrib plugin, with the installed version where there is one."""
    from stoq.catalogue import load_catalogue

    entries = [
        {**e.to_dict(), "installed": _installed_version(e.distribution)} for e in load_catalogue()
    ]
    if as_json:
        print(json.dumps(entries, indent=2))
        return EXIT_OK
    header = ("NAME", "ROLES", "INSTALLED", "DISTRIBUTION", "SUMMARY")
    rows = [header] + [
        (
            e["name"],
            ",".join(e["roles"]),
            e["installed"] or "-",
            e["distribution"],
            e["summary"] + (f" [system: {'; '.join(e['system'])}]" if e["system"] else ""),
        )
        for e in entries
    ]
    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 10_000
    print("\n".join(format_table(rows, width)))
    print("\nInstall one with 'stoq install NAME' (for example 'stoq install yara').")
    return EXIT_OK


def handle(args: argparse.Namespace) -> int:
    from stoq.inventory import inventory

    settings = start_logging(args)
    if args.available:
        return _available(args.json)
    plugins = inventory(settings.plugin_dir_list, check=not args.no_import)
    if args.json:
        print(json.dumps([p.to_dict() for p in plugins], indent=2))
        return EXIT_OK
    if not plugins:
        print(
            "No plugins found. Install one with 'stoq install stoq-plugin-hash'"
            " (or give a v2 plugin folder with --plugin-dir)."
        )
        return EXIT_OK
    rows = [_COLUMNS] + [
        (
            p.name,
            ",".join(p.roles) or "?",
            p.version or "-",
            p.distribution or "(plugin folder)",
            p.status,
            p.summary or "",
        )
        for p in plugins
    ]
    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 10_000
    print("\n".join(format_table(rows, width)))
    failed = [p for p in plugins if p.status == "error"]
    if failed:
        print(f"\n{len(failed)} plugin(s) cannot be loaded:")
        for p in failed:
            print(f"  {p.name}: {p.error}  [{p.source}]")
    return EXIT_OK
