"""What scan, run and config share: errors, logging set-up, and building a ``Stoq`` from flags.

Plugin names given on the command line are checked against what is installed before any
work starts, so a typo is a one-line usage error (exit 2), not an error buried in a result.
"""

from __future__ import annotations

import argparse
import os

from stoq.cli.flags import PLUGIN_LIST_FLAGS, PROVIDER_FLAG

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, TextIO, Tuple

    from stoq.core import Stoq
    from stoq.data_classes import RequestMeta
    from stoq.settings import CoreSettings

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliError",
    "build_stoq",
    "close_matches_hint",
    "load_settings",
    "plugin_opts",
    "request_meta",
    "response_stream",
    "setup_logging",
    "start_logging",
    "write_response",
]

#: 0 ok; 1 a scan completed with errors (or a connector, provider or consumer failed);
#: 2 usage or configuration error, nothing scanned; 3 an unexpected error inside stoq itself.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
#: Which role each plugin-list setting asks of the plugins it names.
ROLE_OF_SETTING = {
    "providers": "provider",
    "source_archivers": "archiver",
    "dest_archivers": "archiver",
    "connectors": "connector",
    "dispatchers": "dispatcher",
    "deep_dispatchers": "deep_dispatcher",
    "decorators": "decorator",
    "always_dispatch": "worker",
}


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


def setup_logging(level: str, log_dir: Optional[str], log_format: Optional[str] = None) -> None:
    """``stoq.configure_logging``: tracebacks stay off the terminal below debug level."""
    from stoq.log import configure_logging

    configure_logging(level, log_dir, log_format)


def start_logging(args: argparse.Namespace) -> CoreSettings:
    """Configure logging once, from --log-level or the configuration; returns the settings."""
    settings = load_settings(args)
    try:
        setup_logging(settings.log_level, settings.log_dir, getattr(args, "log_format", None))
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
        "result_cache": getattr(args, "result_cache", None),
    }
    for _, _, dest, _ in PLUGIN_LIST_FLAGS + [PROVIDER_FLAG]:
        if dest not in ("start_dispatch", "start_deep_dispatch"):
            kwargs[dest] = getattr(args, dest, None)
    return kwargs


def close_matches_hint(name: str, known: List[str]) -> str:
    import difflib  # only for a name that is not found

    matches = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if matches:
        return f"close matches: {', '.join(matches)}"
    return "no installed plugin has a similar name; run 'stoq list' to see them"


def _check_names(stoq: Stoq, args: argparse.Namespace) -> None:
    """Plugin names from the flags and the configuration file must be installed; the core's
    own options (``timeout``, ``isolation``, ``memory_limit``) must be readable."""
    from stoq.exceptions import StoqConfigError
    from stoq.options import CORE_OPTIONS, core_options
    from stoq.settings import PLUGIN_LIST_KEYS

    given: List[Tuple[str, str]] = []
    for short, long, dest, _ in PLUGIN_LIST_FLAGS + [PROVIDER_FLAG]:
        given += [(name, f"{short}/{long}") for name in getattr(args, dest, None) or []]
    given += [(name, "--plugin-opts") for name, _, _ in getattr(args, "plugin_opts", [])]
    for key in PLUGIN_LIST_KEYS:
        source = stoq.settings.sources.get(key, "")
        if source.startswith("file"):
            given += [(name, f"[core] {key} in {source[5:]}") for name in getattr(stoq, key)]
    problems = []
    for name, flag in given:
        if not stoq.plugins.is_available(name):
            hint = close_matches_hint(name, sorted(stoq.plugins.sources))
            problems.append(f"unknown plugin {name!r} (given with {flag}); {hint}")
    options: List[Tuple[str, str, Any, str]] = [
        (name, key, value, "--plugin-opts") for name, key, value in args.plugin_opts
    ]
    for name, values in stoq.config.plugins.items():
        options += [(name, k, v, str(stoq.config.path)) for k, v in values.items()]
    for name, key, value, where in options:
        if key in CORE_OPTIONS:
            try:
                core_options(name, {key: value}, stoq.settings.plugin_timeout)
            except StoqConfigError as exc:
                problems.append(f"{exc} (given in {where})")
    if problems:
        raise CliError("\n".join(dict.fromkeys(problems)))


def response_stream(stoq: Stoq) -> Optional[TextIO]:
    """Reserve standard output for responses (plugins' prints go to stderr). Returns the
    stream the command writes responses to, or None when a configured connector writes
    them there itself (``writes_stdout``), so each response is printed once."""
    from stoq.exceptions import StoqPluginException
    from stoq.stdout import protect

    real = protect()
    for name in stoq.connectors:
        try:
            if getattr(stoq.plugins.load(name), "writes_stdout", False):
                return None
        except StoqPluginException:
            continue  # reported in each response
    return real


def write_response(stream: TextIO, text: str) -> None:
    """One response and a newline, as UTF-8 whatever the locale, flushed at once."""
    data = (text + "\n").encode("utf-8")
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(data.decode("utf-8"))
    else:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    stream.flush()


def build_stoq(args: argparse.Namespace) -> Stoq:
    """A ``Stoq`` from the flags; unknown plugin names and missing folders are usage errors."""
    from stoq.core import Stoq

    for folder in args.plugin_dir or []:
        if not os.path.isdir(folder):
            raise CliError(f"plugin folder {folder!r} (--plugin-dir) does not exist")
    if getattr(args, "trace", False):
        from stoq import tracing

        if not tracing.enable():
            raise CliError("--trace needs opentelemetry-api: pip install 'stoq-framework[tracing]'")
    stoq = Stoq(**stoq_kwargs(args))
    _check_names(stoq, args)
    return stoq


def request_meta(args: argparse.Namespace) -> RequestMeta:
    from stoq.data_classes import RequestMeta

    return RequestMeta(source=args.request_source, extra_data=dict(args.request_extra))
