"""The ``stoq`` command: one module per subcommand, each adding its parser and handler.

A subcommand module exposes ``add_parser(subparsers)``, which sets ``handler`` (a function of
the parsed arguments returning the exit status) with ``parser.set_defaults``. Errors meant for
the user are ``CliError`` (or ``StoqConfigError``) and print as one line; a traceback is shown
only with ``--log-level debug``.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

from stoq.__about__ import __version__

TYPE_CHECKING = False  # ``typing`` is not imported for ``stoq --version``
if TYPE_CHECKING:
    import argparse
    from typing import List, Optional, Tuple

# argparse, traceback and stoq.cli.common (with the configuration machinery it imports) are
# imported inside the functions below, so ``stoq --version`` is answered with none of them.

__all__ = ["START_THRESHOLD", "build_parser", "console", "main", "resume_collector"]

#: Each command and its module (``new-plugin``'s module may be absent: it is added apart).
_COMMANDS = {
    "scan": "scan",
    "run": "run",
    "serve": "serve",
    "list": "listing",
    "install": "install",
    "config": "config",
}
_NEW_PLUGIN = "new-plugin"

DESCRIPTION = "stoQ: analyse files at scale through plugins."
EPILOG = """\
exit status:
  0    success
  1    a scan finished with errors, a file could not be read, a connector or provider failed,
       or an install did not give a usable plugin
  2    usage or configuration error (bad flag, missing path, unknown plugin, invalid config file,
       a plugin option the core reads with a wrong value); nothing was scanned
  3    an unexpected error inside stoq itself (please report it, with --log-level debug output)
  130  interrupted (Ctrl-C)

examples:
  stoq scan suspicious.docx           scan a file with the default profile
  stoq list                           installed plugins, their roles and whether they load
  stoq install stoq-plugin-yara       add a plugin to this stoq
  stoq config                         effective settings and where each came from
  stoq scan --help                    more about one command

environment:
  STOQ_HOME  folder holding stoq.toml or stoq.cfg (default ~/.stoq; it need not exist)"""


#: Allocations between two passes over the youngest objects while the first request loads the
#: plugins (Python's default is 700): few passes, and garbage stays bounded.
START_THRESHOLD = 10_000
#: While ``console`` starts: the collector's usual thresholds, to restore; else None.
_usual_thresholds: Optional[Tuple[int, ...]] = None


def console() -> None:
    """The ``stoq`` command (and ``python -m stoq``): ``main`` with a collector made for start-up.

    Start-up (imports, the parser, plugins and their tables) builds objects that live until
    exit; collecting among them is wasted work: about a tenth of a small scan's instructions
    went to the collector. It is off while the modules load and the parser is built, which are
    then frozen (kept out of every later pass, and shared with forked consumers without
    copying); it runs rarely (``START_THRESHOLD``) until ``resume_collector`` says start-up
    is over. What plugins load is not frozen: at exit it is finalized as usual (lief, through
    nanobind, reports every instance left alive then).
    """
    global _usual_thresholds
    gc.disable()
    _usual_thresholds = gc.get_threshold()
    sys.exit(main())


def resume_collector() -> None:
    """Start-up is over: collect as usual from here on (if ``console`` changed the collector;
    a host calling ``main`` keeps its own collector settings)."""
    global _usual_thresholds
    if _usual_thresholds is not None:
        gc.set_threshold(*_usual_thresholds)
        _usual_thresholds = None


def _add_new_plugin(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``stoq new-plugin`` comes from the authoring kit, when that module is present."""
    import argparse

    from stoq.cli.common import CliError

    try:
        module = importlib.import_module("stoq.cli.new_plugin")
    except ModuleNotFoundError as exc:
        if exc.name == "stoq.cli.new_plugin":
            return
        reason = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a broken optional command must not break the CLI
        reason = f"{type(exc).__name__}: {exc}"
    else:
        module.add_parser(subparsers)
        return

    def unavailable(args: argparse.Namespace) -> int:
        raise CliError(f"'stoq new-plugin' is unavailable here: {reason}")

    parser = subparsers.add_parser("new-plugin", help="(unavailable) render the plugin template")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=unavailable)


def version_line() -> str:
    """What ``stoq --version`` prints."""
    # sys.version's first word is what platform.python_version() gives, without importing
    # platform (its regular expressions cost about a third of this command).
    return f"stoq {__version__} (Python {sys.version.split()[0]}, {sys.executable})"


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The ``stoq`` parser with every subcommand, or with ``command``'s alone.

    Building one subcommand imports its module only: ``stoq scan`` does not import what
    run, serve, install and new-plugin need (signal, subprocess, tempfile, shutil ...).
    """
    import argparse

    from stoq.cli.flags import Parser

    parser: argparse.ArgumentParser = Parser(
        prog="stoq",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=version_line())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [command] if command else [*_COMMANDS, _NEW_PLUGIN]:
        if name == _NEW_PLUGIN:
            _add_new_plugin(subparsers)
        else:
            importlib.import_module(f"stoq.cli.{_COMMANDS[name]}").add_parser(subparsers)
    return parser


def _command_of(argv: List[str]) -> Optional[str]:
    """The subcommand ``argv`` names first, if it is one (else help or a usage error follows,
    which lists every command)."""
    first = argv[0] if argv else None
    return first if first in _COMMANDS or first == _NEW_PLUGIN else None


def _quiet_broken_pipe() -> int:
    """stdout was closed early (``stoq scan ... | head``): stop without a second error."""
    from stoq.cli.common import EXIT_FAILED

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
    return EXIT_FAILED


def _utf8_streams() -> None:
    """Responses are UTF-8 whatever the locale; messages on stderr never fail to encode."""
    for stream, errors in ((sys.stdout, "strict"), (sys.stderr, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors=errors)


def _print_traceback() -> None:
    """The exception being handled, in full (``--log-level debug``; ``traceback`` and the
    modules it imports are ~5 % of a small scan, so they are imported only here)."""
    import traceback

    traceback.print_exc()


def main(argv: Optional[List[str]] = None) -> int:
    """Run the ``stoq`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv == ["--version"]:
        # Answered before the subcommands (and the engine they import) are loaded: about a
        # tenth of the time building the whole parser takes.
        print(version_line())
        return 0
    from stoq.cli.common import EXIT_INTERNAL, EXIT_USAGE, CliError
    from stoq.exceptions import StoqConfigError

    _utf8_streams()
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    debug = getattr(args, "log_level", None) == "DEBUG"
    if _usual_thresholds is not None:
        gc.freeze()  # the modules and the parser: kept out of every later pass
        gc.set_threshold(START_THRESHOLD, *_usual_thresholds[1:])
        gc.enable()
    if args.command != "scan":  # scan resumes it once its first request has loaded the plugins
        resume_collector()
    try:
        return int(handler(args))
    except (CliError, StoqConfigError) as exc:
        if debug:
            _print_traceback()
        print(f"stoq: error: {exc}", file=sys.stderr)
        return exc.code if isinstance(exc, CliError) else EXIT_USAGE
    except KeyboardInterrupt:
        print("stoq: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if debug:
            _print_traceback()
            print(f"stoq: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            print(
                f"stoq: error: {type(exc).__name__}: {exc} (run with --log-level debug for details)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL
