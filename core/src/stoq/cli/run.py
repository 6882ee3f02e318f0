"""``stoq run``: run mode — providers feed payloads until they finish or a signal stops it.

SIGINT (Ctrl-C) and SIGTERM ask ``Stoq.stop()``: the request in flight finishes and the
command exits cleanly; a second signal aborts at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, Dict, Optional

from stoq.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    build_stoq,
    request_meta,
    response_stream,
    start_logging,
    write_response,
)
from stoq.cli.flags import add_output_flags, add_stoq_flags, output_indent, whole_number
from stoq.log import get_logger

__all__ = ["add_parser", "handle"]

log = get_logger("stoq.cli")

#: Registered when no connector is configured, so run mode's responses are not lost.
STDOUT_CONNECTOR = "stoq-cli:stdout"

DESCRIPTION = """\
Run mode: start the providers (-P or [core] providers), scan every payload they put on the
queue as its own request, and stop when every provider has finished and the queue is empty.

Items are scanned by --consumers processes, each with its own plugin instances. Responses go
to the configured connectors (-C); with no connector the consumers send them back and this
process prints each whole: indented on a terminal, one JSON line per request otherwise.
Ctrl-C or SIGTERM finishes the request in flight and exits; a second one aborts at once.

Exit status: 0 finished or stopped cleanly with no errors; 1 some response had errors, or a
provider, connector or consumer process failed; 2 usage or configuration error (no provider,
unknown plugin, invalid config file); 130 aborted by a second signal."""

EXAMPLES = """\
examples:
  stoq run -P filedir --plugin-opts filedir:source_dir=/srv/drop      print each response
  stoq run -P filedir --plugin-opts filedir:source_dir=/srv/drop \\
      -C filedir --plugin-opts filedir:results_dir=/srv/results --consumers 4
  stoq run --config /etc/stoq/stoq.toml --jsonl > responses.jsonl   providers from the file"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run mode: scan what providers ingest until they finish or are stopped",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--consumers",
        type=whole_number(1),
        metavar="N",
        help="consumer processes scanning in parallel (default: [core] consumers, else CPU count)",
    )
    parser.add_argument(
        "--metrics-port",
        type=whole_number(1),
        metavar="PORT",
        help="serve Prometheus metrics of every consumer on http://HOST:PORT/metrics"
        " (needs the metrics extra: pip install 'stoq-framework[metrics]')",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address the metrics endpoint listens on (default 127.0.0.1; 0.0.0.0 for all)",
    )
    add_output_flags(parser)
    add_stoq_flags(parser, providers=True)
    parser.set_defaults(handler=handle)


def _stdout_connector(indent: Optional[int]) -> Any:
    """A connector that prints each response; built here so the core stays free of it."""
    from stoq.data_classes import StoqResponse
    from stoq.plugins import ConnectorPlugin
    from stoq.serialize import dumps

    class StdoutConnector(ConnectorPlugin):
        """Writes each response to standard output as JSON."""

        writes_stdout = True

        def save(self, response: StoqResponse) -> None:
            write_response(sys.stdout, dumps(response, indent=indent))

    return StdoutConnector


def _install_signal_handlers(stoq: Any) -> Dict[int, Any]:
    def stop(signum: int, _frame: Any) -> None:
        if stoq.stopping.is_set():
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        print(
            f"stoq: {name}: finishing the request in flight, then stopping"
            " (send it again to abort)",
            file=sys.stderr,
            flush=True,
        )
        stoq.stop()

    return {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}


def handle(args: argparse.Namespace) -> int:
    start_logging(args)
    stoq = build_stoq(args)
    if args.consumers is not None:
        stoq.settings.consumers = args.consumers
    if not stoq.settings.providers:
        raise CliError(
            "run mode needs a provider: give -P NAME, or set providers in [core] of the config file"
        )
    out = response_stream(stoq)
    if not stoq.connectors:
        # Printed by this process (consumers send their responses back), so every response
        # reaches stdout whole, whatever the number of consumers.
        indent = output_indent(args, out is not None and out.isatty())
        stoq.plugins.build(STDOUT_CONNECTOR, _stdout_connector(indent))
        stoq.connectors = [STDOUT_CONNECTOR]
    from stoq.exceptions import StoqException

    metrics_folder = _serve_metrics(args)
    previous = _install_signal_handlers(stoq)
    try:
        stoq.run(request_meta(args), args.start_dispatch, args.start_deep_dispatch)
    except ValueError as exc:  # no provider could be loaded
        raise CliError(str(exc)) from None
    except StoqException:
        pass  # a provider raised: logged, counted and reported by _summary below
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stoq.close()
        if metrics_folder is not None:
            from stoq import metrics

            metrics.stop(metrics_folder)
    return _summary(stoq)


def _serve_metrics(args: argparse.Namespace) -> Optional[str]:
    """Start the metrics endpoint before any consumer exists (they inherit its folder)."""
    if args.metrics_port is None:
        return None
    from stoq import metrics

    try:
        return metrics.serve(args.metrics_port, args.metrics_host)
    except ImportError:
        raise CliError(
            "--metrics-port needs prometheus_client: pip install 'stoq-framework[metrics]'"
        ) from None
    except OSError as exc:
        raise CliError(f"--metrics-port {args.metrics_port}: {exc.strerror or exc}") from None


def _summary(stoq: Any) -> int:
    """Exit 1 when anything went wrong, with one line saying what."""
    counts = [
        (stoq.responses_with_errors, "response(s) with errors"),
        (stoq.provider_failures, "provider failure(s)"),
        (stoq.connector_failures, "connector save failure(s)"),
        (stoq.consumer_deaths, "consumer process death(s)"),
    ]
    problems = [f"{count} {what}" for count, what in counts if count]
    if stoq.stopping.is_set():
        log.info("run mode stopped by signal")
    if problems:
        print(f"stoq: run finished with {', '.join(problems)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
