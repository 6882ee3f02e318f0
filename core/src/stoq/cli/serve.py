"""``stoq serve``: the HTTP API and results page (needs the ``server`` extra)."""

from __future__ import annotations

import argparse
import importlib.util
import os

from stoq.cli.common import EXIT_OK, CliError, build_stoq, start_logging
from stoq.cli.flags import add_stoq_flags, whole_number
from stoq.exceptions import StoqPluginException
from stoq.log import get_logger

__all__ = ["add_parser", "handle"]

log = get_logger("stoq.cli")

DESCRIPTION = """\
Serve stoQ over HTTP: POST /api/v1/scan scans the request's file with this configuration and
returns the response JSON; GET / is a page to upload a file and browse its result. The API is
described at /api/v1/openapi.json. Scans run in a pool of consumer processes (--consumers).

With a token (--token or the environment variable STOQ_API_TOKEN) every API call except
/api/v1/health and /api/v1/openapi.json needs 'Authorization: Bearer <token>'. Uploads larger
than --max-upload (default: the core's max_payload_size) are refused while they stream in.

With --submit-to PLUGIN (e.g. redis), POST /api/v1/submit queues the file for run mode's
scanning nodes and answers 202 with its scan id; with --results-from PLUGIN (e.g. postgres),
GET /api/v1/scans/{scan_id} returns its saved response (404 until a node saved it) and
GET /api/v1/scans?q=TEXT lists past scans by SHA-256 or filename, on the page too.

Needs the server extra: pip install 'stoq-framework[server]'."""

EXAMPLES = """\
examples:
  stoq serve                                    http://127.0.0.1:8080, the default profile
  STOQ_API_TOKEN=s3cret stoq serve --host 0.0.0.0 --port 8443 --consumers 4
  curl -s --data-binary @invoice.doc -H 'Authorization: Bearer s3cret' \\
      'http://127.0.0.1:8443/api/v1/scan?filename=invoice.doc'"""

_MODULES = ("starlette", "uvicorn", "jinja2", "python_multipart")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="an HTTP API and results page (extra: server)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    server = parser.add_argument_group("server")
    server.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    server.add_argument("--port", type=whole_number(0), default=8080, help="port (default 8080)")
    server.add_argument(
        "--token",
        metavar="TOKEN",
        help="API bearer token (default: $STOQ_API_TOKEN; none: no auth)",
    )
    server.add_argument(
        "--max-upload",
        type=whole_number(1),
        metavar="BYTES",
        help="largest upload (default: max_payload_size)",
    )
    server.add_argument(
        "--consumers",
        type=whole_number(1),
        metavar="N",
        help="scanning processes (default: consumers setting)",
    )
    server.add_argument(
        "--submit-to",
        metavar="PLUGIN",
        help="queue plugin for POST /api/v1/submit (e.g. redis; its options as usual)",
    )
    server.add_argument(
        "--results-from",
        metavar="PLUGIN",
        help="results store for GET /api/v1/scans (e.g. postgres, or redis by scan id)",
    )
    add_stoq_flags(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    missing = [m for m in _MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise CliError(
            f"'stoq serve' needs the server extra ({', '.join(missing)} missing):"
            " pip install 'stoq-framework[server]'"
        )
    import uvicorn

    from stoq.server.app import ServerConfig, create_app

    settings = start_logging(args)
    stoq = build_stoq(args)
    token = args.token or os.environ.get("STOQ_API_TOKEN") or None
    config = ServerConfig(
        token=token,
        max_upload=args.max_upload or settings.max_payload_size,
        consumers=args.consumers or settings.consumers,
        submit_to=args.submit_to,
        results_from=args.results_from,
    )
    try:
        app = create_app(stoq, config)
    except (ValueError, StoqPluginException) as exc:
        stoq.close()
        raise CliError(str(exc)) from None
    log.info(
        "serving on http://%s:%s (token %s)",
        args.host,
        args.port,
        "required" if token else "not set",
    )
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    finally:
        stoq.close()
    return EXIT_OK
