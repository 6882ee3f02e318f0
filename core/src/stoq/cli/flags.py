"""The command-line flags scan, run and config share (v2's names), and their value types.

Values are parsed here, at the edge: plugin lists split on commas, ``--plugin-opts`` and
``--request-extra`` split at the first ``:``/``=`` only and keep true/false and numbers typed.
"""

from __future__ import annotations

import argparse
import os
import sys

from stoq.config import parse_scalar, split_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, List, Optional, Tuple

__all__ = [
    "PLUGIN_LIST_FLAGS",
    "PROVIDER_FLAG",
    "Parser",
    "add_config_flags",
    "add_log_flag",
    "add_output_flags",
    "add_stoq_flags",
    "flag_for",
    "output_indent",
    "whole_number",
]


def help_width() -> int:
    """The width argparse's formatter finds with ``shutil.get_terminal_size``, found without
    ``shutil`` (with bz2, lzma and fnmatch: ~6 M instructions of every start, and argparse
    builds a formatter for each ``add_argument``)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


class Parser(argparse.ArgumentParser):
    """The ``stoq`` parser (its subcommands' parsers are of its class): formatters get
    ``help_width()``."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=help_width())  # type: ignore[call-arg]


#: (short flag, long flag, dest): plugin lists shared by scan and run, as in stoQ v2.
PLUGIN_LIST_FLAGS = [
    ("-a", "--always-dispatch", "always_dispatch", "workers run on every payload"),
    ("-s", "--start-dispatch", "start_dispatch", "workers run on the submitted payload only"),
    ("-R", "--dispatchers", "dispatchers", "dispatchers that choose workers"),
    ("-E", "--deep-dispatchers", "deep_dispatchers", "deep dispatchers that read worker results"),
    (
        "-d",
        "--start-deep-dispatch",
        "start_deep_dispatch",
        "workers for the first deep pass (root only)",
    ),
    ("-S", "--source-archivers", "source_archivers", "archivers that fetch payloads (run mode)"),
    ("-A", "--dest-archivers", "dest_archivers", "archivers that store payloads"),
    ("-D", "--decorators", "decorators", "decorators that conclude on the whole response"),
    ("-C", "--connectors", "connectors", "connectors that save each response"),
]
PROVIDER_FLAG = ("-P", "--providers", "providers", "providers that feed run mode")
#: Settings keys that have their own flag (for "where did this value come from").
_SETTING_FLAGS = {
    dest: f"{short}/{long}" for short, long, dest, _ in PLUGIN_LIST_FLAGS + [PROVIDER_FLAG]
}
_SETTING_FLAGS.update(
    max_recursion="--max-recursion",
    max_dispatch_passes="--max-dispatch-passes",
    plugin_dir_list="--plugin-dir",
    log_level="--log-level",
)
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def flag_for(key: str) -> str:
    """The command-line flag that sets a ``[core]`` key (for messages)."""
    return _SETTING_FLAGS.get(key, "a keyword argument")


# -- argument types --------------------------------------------------------------------------


def _plugin_names(text: str) -> List[str]:
    names = split_list(text)
    if not names:
        raise argparse.ArgumentTypeError("expected one or more plugin names, e.g. hash,entropy")
    return names


def _plugin_option(text: str) -> Tuple[str, str, Any]:
    name, colon, assignment = text.partition(":")
    key, equals, value = assignment.partition("=")
    if not (colon and equals and name.strip() and key.strip()):
        raise argparse.ArgumentTypeError(
            f"expected NAME:KEY=VALUE (e.g. yara:rules=/etc/rules.yar), got {text!r}"
        )
    return name.strip(), key.strip(), parse_scalar(value)


def _key_value(text: str) -> Tuple[str, Any]:
    key, equals, value = text.partition("=")
    if not (equals and key.strip()):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. ticket=INC-42), got {text!r}")
    return key.strip(), parse_scalar(value)


def whole_number(minimum: int) -> Any:
    """An argparse type: an int of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return number

    return parse


def _log_level(text: str) -> str:
    level = text.upper()
    if level not in _LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(name.lower() for name in _LOG_LEVELS)}, got {text!r}"
        )
    return level


# -- flags -----------------------------------------------------------------------------------


def add_log_flag(parser: Any) -> None:
    parser.add_argument(
        "--log-level",
        type=_log_level,
        metavar="LEVEL",
        help="debug, info, warning, error or critical (default: the config file's, else info);"
        " debug also prints tracebacks",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        metavar="text|json",
        help="log lines as text (default) or one JSON object per event, with scan id and plugin",
    )


def add_config_flags(parser: argparse.ArgumentParser, profile: bool = True) -> None:
    """--config, --plugin-dir, --profile and --log-level: how every command finds its settings."""
    group = parser.add_argument_group("configuration")
    group.add_argument(
        "--config",
        metavar="FILE",
        help="stoq.toml or stoq.cfg (default: $STOQ_HOME/stoq.toml, then stoq.cfg)",
    )
    group.add_argument(
        "--plugin-dir", action="append", metavar="DIR", help="a v2-style plugin folder (repeatable)"
    )
    if profile:
        group.add_argument(
            "--profile",
            default="default",
            metavar="NAME|none",
            help="settings profile below the config file and flags (default: default; 'none' for built-in defaults)",
        )
    add_log_flag(group)


def add_stoq_flags(parser: argparse.ArgumentParser, providers: bool = False) -> None:
    """The plugin-list flags, limits, plugin options and request metadata (v2's shared flags)."""
    group = parser.add_argument_group("plugins (repeat a flag or separate names with commas)")
    for short, long, dest, text in ([PROVIDER_FLAG] if providers else []) + PLUGIN_LIST_FLAGS:
        group.add_argument(
            short, long, dest=dest, action="extend", type=_plugin_names, metavar="NAME", help=text
        )
    group.add_argument(
        "--plugin-opts",
        action="append",
        type=_plugin_option,
        default=[],
        metavar="NAME:KEY=VALUE",
        help="a plugin option (repeatable); true/false and numbers keep their type",
    )
    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-recursion",
        type=whole_number(0),
        metavar="N",
        help="deepest extraction level scanned (default 10)",
    )
    limits.add_argument(
        "--max-dispatch-passes",
        type=whole_number(0),
        metavar="N",
        help="deep dispatch passes per payload (default 1)",
    )
    request = parser.add_argument_group("request metadata")
    request.add_argument("--request-source", metavar="TEXT", help="recorded as request_meta.source")
    request.add_argument(
        "--request-extra",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="recorded in request_meta.extra_data (repeatable)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="make OpenTelemetry spans (request, payload, plugin call) for the tracer provider"
        " configured, e.g. by opentelemetry-instrument (needs the tracing extra)",
    )
    cache = parser.add_argument_group("result cache")
    cache.add_argument(
        "--cache",
        dest="result_cache",
        metavar="SPEC",
        help="cache worker results: sqlite, sqlite:PATH or redis://HOST:PORT/DB"
        " (setting result_cache)",
    )
    cache.add_argument(
        "--no-cache",
        dest="result_cache",
        action="store_const",
        const="",
        help="scan without the result cache, whatever the configuration says",
    )
    add_config_flags(parser)


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--jsonl",
        action="store_true",
        help="one compact JSON line per request (the default when stdout is not a terminal)",
    )
    group.add_argument(
        "--pretty", action="store_true", help="indented JSON (the default on a terminal)"
    )


def output_indent(args: argparse.Namespace, is_terminal: bool) -> Optional[int]:
    """Indented on a terminal or with --pretty; compact JSON lines otherwise."""
    if args.jsonl:
        return None
    return 2 if (args.pretty or is_terminal) else None
