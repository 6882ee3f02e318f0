"""``stoq scan``: scan files, folders or standard input and print each response as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys

from stoq.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    build_stoq,
    response_stream,
    start_logging,
    write_response,
)
from stoq.cli.flags import add_output_flags, add_stoq_flags, output_indent, whole_number
from stoq.log import get_logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional

    from stoq.cli.progress import ProgressBar
    from stoq.stats import ScanStats

__all__ = ["add_parser", "collect_inputs", "handle"]

log = get_logger("stoq.cli")

DESCRIPTION = """\
Scan files, folders or standard input, one request per file, and print each response as JSON.

Output: indented JSON when stdout is a terminal; otherwise (a pipe or a file) one compact JSON
line per request, as with --jsonl. Responses come out in the order of the inputs, also with -j.
A folder contributes the files directly inside it; -r also scans its subfolders. A progress bar
is drawn on stderr when several files are scanned and stderr is a terminal, never in a pipe.
With the default profile, the hash, entropy, mimetype, yara and results plugins run when they
are installed; --profile none turns that off.

Exit status: 0 every request finished without errors; 1 some response has errors, a file could
not be read, or a connector failed; 2 usage or configuration error (nothing was scanned)."""

EXAMPLES = """\
examples:
  stoq scan sample.exe                          scan one file with the default profile
  stoq scan -r /srv/drop -j 4 > results.jsonl   a folder tree, 4 processes, JSON lines
  curl -s https://example.org/x | stoq scan -   scan standard input
  stoq scan --profile none -a hash,yara doc.pdf  exactly these workers
  stoq scan -a yara --plugin-opts yara:worker_rules=/etc/stoq/rules.yar mail.eml
  stoq scan --request-source triage --request-extra ticket=INC-42 file.bin"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="scan files, folders or stdin and print the results",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="a file, a folder, or - for standard input"
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="scan folders' subfolders too"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=whole_number(1),
        default=1,
        metavar="N",
        help="scan with N processes (default 1)",
    )
    parser.add_argument("--no-progress", action="store_true", help="never draw the progress bar")
    parser.add_argument(
        "--stats",
        action="store_true",
        help="after the run, print on stderr a table of plugins by time (total, p50, p99),"
        " calls, errors and timeouts",
    )
    add_output_flags(parser)
    add_stoq_flags(parser)
    parser.set_defaults(handler=handle)


def _folder_files(folder: str, recursive: bool) -> List[str]:
    """Files in ``folder`` (and below it with ``recursive``), sorted so the order is stable."""
    if not recursive:
        with os.scandir(folder) as entries:
            files = sorted(e.name for e in entries if e.is_file())
        if not files:
            log.warning(
                "folder %r has no files at its top level; use -r to scan its subfolders", folder
            )
        return [os.path.join(folder, name) for name in files]
    found: List[str] = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        found += [
            os.path.join(root, n) for n in sorted(names) if os.path.isfile(os.path.join(root, n))
        ]
    if not found:
        log.warning("folder %r has no files", folder)
    return found


def collect_inputs(paths: List[str], recursive: bool) -> List[str]:
    """File paths to scan, in order, with ``-`` kept for stdin; a missing path is a usage error."""
    inputs: List[str] = []
    for raw in paths:
        if raw == "-":
            if "-" in inputs:
                raise CliError("'-' (standard input) is given more than once")
            inputs.append(raw)
        elif os.path.isdir(raw):
            try:
                inputs += _folder_files(raw, recursive)
            except OSError as exc:
                raise CliError(f"cannot list folder {raw!r}: {exc.strerror or exc}") from None
        elif os.path.exists(raw):
            inputs.append(raw)
        else:
            raise CliError(
                f"no such file or folder: {raw!r} (check the path; use - to read standard input)"
            )
    return inputs


def _progress(args: argparse.Namespace, count: int) -> Optional[ProgressBar]:
    if args.no_progress or count < 2 or not sys.stderr.isatty():
        return None
    from stoq.cli.progress import ProgressBar

    return ProgressBar(count, sys.stderr)


def handle(args: argparse.Namespace) -> int:
    from stoq.cli.jobs import ScanOptions, read_bounded, scan_items

    start_logging(args)
    inputs = collect_inputs(args.paths, args.recursive)
    stoq = build_stoq(args)
    if not inputs:
        log.warning("nothing to scan")
        return EXIT_OK
    out = response_stream(stoq)
    limit = stoq.settings.max_payload_size
    items = [read_bounded(sys.stdin.buffer, limit) if item == "-" else item for item in inputs]
    options = ScanOptions(
        request_source=args.request_source,
        request_extra=dict(args.request_extra),
        start_dispatch=args.start_dispatch,
        start_deep_dispatch=args.start_deep_dispatch,
        indent=output_indent(args, out is not None and out.isatty()),
        read_limit=limit,
    )
    bar = _progress(args, len(items))
    shared_screen = bar is not None and out is not None and out.isatty()
    failed = False
    stats: Optional[ScanStats] = None
    if args.stats:
        from stoq.stats import ScanStats  # only for --stats

        stats = ScanStats()
    try:
        for outcome in scan_items(stoq, items, options, args.jobs):
            if stats is not None and outcome.text is not None:
                stats.add(json.loads(outcome.text))
            redraw = bar is not None and (shared_screen or outcome.problem is not None)
            if redraw:
                bar.clear()  # type: ignore[union-attr]
            if outcome.problem:
                print(f"stoq: error: {outcome.problem}", file=sys.stderr)
            if outcome.text is not None and out is not None:
                write_response(out, outcome.text)
            failed = failed or outcome.failed
            if bar is not None:
                bar.advance()
                if redraw:
                    bar.draw()
    finally:
        if bar is not None:
            bar.close()
        stoq.close()
    if stats is not None:
        print(stats.table(), file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK
