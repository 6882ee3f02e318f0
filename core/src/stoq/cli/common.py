"""What scan, run and config share: errors, logging set-up, and building a ``Stoq`` from flags.

Plugin names given on the command line are checked against what is installed before any
work starts, so a typo is a one-line usage error (exit 2), not an error buried in a result.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from stoq.cli.flags import PLUGIN_LIST_FLAGS, PROVIDER_FLAG

if TYPE_CHECKING:
    from stoq.core import Stoq
    from stoq.data_classes import RequestMeta
    from stoq.settings import CoreSettings

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "build_stoq",
    "close_matches_hint",
    "load_settings",
    "plugin_opts",
    "request_meta",
    "setup_logging",
    "start_logging",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A problem to report as one line, with the exit code to return."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


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


def setup_logging(level: str, log_dir: Optional[str]) -> None:
    """``stoq.configure_logging``: tracebacks stay off the terminal below debug level."""
    from stoq.log import configure_logging

    configure_logging(level, log_dir)


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
