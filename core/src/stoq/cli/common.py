"""What scan, run and config share: the v2 flags, logging set-up, and building a ``Stoq``.

Plugin names given on the command line are checked against what is installed before any
work starts, so a typo is a one-line usage error (exit 2), not an error buried in a result.
"""

from __future__ import annotations

import argparse
import difflib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from stoq.config import parse_scalar, split_list

if TYPE_CHECKING:
    from stoq.core import Stoq
    from stoq.data_classes import RequestMeta
    from stoq.settings import CoreSettings

__all__ = [
    "CliError",
    "add_config_flags",
    "add_log_flag",
    "add_output_flags",
    "add_stoq_flags",
    "build_stoq",
    "close_matches_hint",
    "flag_for",
    "load_settings",
    "output_indent",
    "request_meta",
    "setup_logging",
    "start_logging",
    "whole_number",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

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


class CliError(Exception):
    """A problem to report as one line, with the exit code to return."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


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


# -- settings, logging and the Stoq ----------------------------------------------------------


def _profile(args: argparse.Namespace) -> Optional[str]:
    name = getattr(args, "profile", "none")
    return None if name in (None, "", "none") else name


def load_settings(
    args: argparse.Namespace, explicit: Optional[Dict[str, Any]] = None
) -> CoreSettings:
    """The settings the flags, file and profile give, without loading any plugin."""
    from stoq.config import find_config_file, read_config_file
    from stoq.settings import load_profile, resolve_settings

    config = read_config_file(find_config_file(getattr(args, "config", None)))
    profile = _profile(args)
    layer = load_profile(profile) if profile else None
    given = dict(explicit or {})
    given.setdefault("log_level", getattr(args, "log_level", None))
    if getattr(args, "plugin_dir", None):
        given.setdefault("plugin_dir_list", args.plugin_dir)
    return resolve_settings(given, config, layer, profile or "")


class _NoTraceback(logging.Formatter):
    """Terminal log lines without tracebacks (they still reach a log_dir file)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def setup_logging(level: str, log_dir: Optional[str]) -> None:
    """``stoq.configure_logging``, keeping tracebacks off the terminal below debug level.

    A plugin's failure is already summarised in the response; its full traceback still goes
    to ``log_dir/stoq.log`` when a log folder is set, and to the terminal with debug.
    """
    from stoq.log import configure_logging

    configure_logging(level, log_dir)
    if level.upper() != "DEBUG":
        for handler in logging.getLogger("stoq").handlers:
            if type(handler) is logging.StreamHandler and handler.formatter is not None:
                handler.setFormatter(_NoTraceback(handler.formatter._fmt))


def start_logging(args: argparse.Namespace) -> CoreSettings:
    """Configure logging once, from --log-level or the configuration; returns the settings."""
    settings = load_settings(args)
    try:
        setup_logging(settings.log_level, settings.log_dir)
    except ValueError as exc:
        raise CliError(f"log_level from {settings.sources['log_level']}: {exc}") from None
    except OSError as exc:
        raise CliError(
            f"log_dir {settings.log_dir!r} from {settings.sources['log_dir']}: {exc}"
        ) from None
    return settings


def plugin_opts(args: argparse.Namespace) -> Dict[str, Dict[str, Any]]:
    merged: Dict[str, Dict[str, Any]] = {}
    for name, key, value in getattr(args, "plugin_opts", []):
        merged.setdefault(name, {})[key] = value
    return merged


def stoq_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """The ``Stoq(...)`` keyword arguments the flags give (None where a flag was not used)."""
    kwargs: Dict[str, Any] = {
        "config_file": args.config,
        "plugin_dir_list": args.plugin_dir,
        "plugin_opts": plugin_opts(args),
        "profile": _profile(args),
        "log_level": args.log_level,
        "max_recursion": args.max_recursion,
        "max_dispatch_passes": args.max_dispatch_passes,
    }
    for _, _, dest, _ in PLUGIN_LIST_FLAGS + [PROVIDER_FLAG]:
        if dest not in ("start_dispatch", "start_deep_dispatch"):
            kwargs[dest] = getattr(args, dest, None)
    return kwargs


def close_matches_hint(name: str, known: List[str]) -> str:
    matches = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if matches:
        return f"close matches: {', '.join(matches)}"
    return "no installed plugin has a similar name; run 'stoq list' to see them"


def _check_names(stoq: Stoq, args: argparse.Namespace) -> None:
    given: List[Tuple[str, str]] = []
    for short, long, dest, _ in PLUGIN_LIST_FLAGS + [PROVIDER_FLAG]:
        given += [(name, f"{short}/{long}") for name in getattr(args, dest, None) or []]
    given += [(name, "--plugin-opts") for name, _, _ in getattr(args, "plugin_opts", [])]
    problems = []
    for name, flag in given:
        if not stoq.plugins.is_available(name):
            hint = close_matches_hint(name, sorted(stoq.plugins.sources))
            problems.append(f"unknown plugin {name!r} (given with {flag}); {hint}")
    if problems:
        raise CliError("\n".join(dict.fromkeys(problems)))


def build_stoq(args: argparse.Namespace) -> Stoq:
    """A ``Stoq`` from the flags; unknown plugin names and missing folders are usage errors."""
    from stoq.core import Stoq

    for folder in args.plugin_dir or []:
        if not Path(folder).is_dir():
            raise CliError(f"plugin folder {folder!r} (--plugin-dir) does not exist")
    stoq = Stoq(**stoq_kwargs(args))
    _check_names(stoq, args)
    return stoq


def request_meta(args: argparse.Namespace) -> RequestMeta:
    from stoq.data_classes import RequestMeta

    return RequestMeta(source=args.request_source, extra_data=dict(args.request_extra))
