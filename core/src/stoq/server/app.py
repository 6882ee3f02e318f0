"""The ASGI application behind ``stoq serve``: the versioned API and the results page.

Starlette routes the requests and uvicorn serves them; scans run in the consumer pool
(:mod:`stoq.server.scanner`). Every response carries strict security headers; errors are
problem details; with a token configured, the API wants ``Authorization: Bearer <token>``
(compared in constant time). The page and its static files need no token: they hold no data,
and the page asks for the token to send with each API call.
"""

from __future__ import annotations

import hmac
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Dict, List, Optional

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stoq.__about__ import __version__
from stoq.log import get_logger
from stoq.server.openapi import openapi_document
from stoq.server.problems import Problem, problem_response
from stoq.server.scanner import Scanner
from stoq.server.uploads import read_upload

if TYPE_CHECKING:
    from stoq.core import Stoq

__all__ = ["ServerConfig", "create_app"]

log = get_logger("stoq.server")

HERE = Path(__file__).resolve().parent
#: No inline script or style, nothing from elsewhere, no framing, no plugins.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass
class ServerConfig:
    """What ``stoq serve`` was told, beside the Stoq's own settings."""

    token: Optional[str]
    max_upload: int
    consumers: int
    #: A plugin with ``submit(content, extra_data, dispatch_to)`` (e.g. redis): POST /submit.
    submit_to: Optional[str] = None
    #: A plugin with ``fetch(scan_id)`` and optionally ``search(text, limit)`` (e.g. postgres).
    results_from: Optional[str] = None


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (pure ASGI: bodies stream untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode().lower() not in SECURITY_HEADERS
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _plugin_status(stoq: Stoq) -> Dict[str, str]:
    """``ok`` or the load error of every plugin the configuration names."""
    from stoq.inventory import inventory
    from stoq.settings import PLUGIN_LIST_KEYS

    found = {p.name: p for p in inventory(stoq.settings.plugin_dir_list, check=True)}
    status = {}
    for key in PLUGIN_LIST_KEYS:
        for name in getattr(stoq.settings, key):
            info = found.get(name)
            status[name] = "not installed" if info is None else (info.error or info.status)
    return status


def _plugin_with(stoq: Stoq, name: Optional[str], method: str, flag: str) -> Any:
    """The loaded plugin ``name`` (None when not configured); ValueError if it lacks ``method``."""
    if not name:
        return None
    plugin = stoq.load_plugin(name)
    if not callable(getattr(plugin, method, None)):
        raise ValueError(f"{flag} {name}: plugin {name!r} has no {method}() method")
    return plugin


def create_app(stoq: Stoq, config: ServerConfig) -> Starlette:
    """The application; its lifespan starts and stops the consumer pool."""
    scanner = Scanner(stoq, config.consumers)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    state: Dict[str, Any] = {
        "queue": _plugin_with(stoq, config.submit_to, "submit", "--submit-to"),
        "results": _plugin_with(stoq, config.results_from, "fetch", "--results-from"),
    }

    def authorise(request: Request) -> None:
        if config.token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), config.token.encode()
        ):
            raise Problem(
                401, "Unauthorised", "send the API token as 'Authorization: Bearer <token>'"
            )

    async def scan(request: Request) -> Response:
        authorise(request)
        upload = await read_upload(request, config.max_upload)
        text = await scanner.scan(upload)
        return Response(text, media_type="application/json")

    def store(method: str) -> Any:
        """The results store's ``method``; without one the route does not exist (404, saying
        how to configure it)."""
        plugin = state.get("results")
        if plugin is None or not hasattr(plugin, method):
            raise Problem(
                404,
                "Not configured",
                f"this server has no results store: start stoq serve with --results-from PLUGIN"
                f" (a connector with {method}(), e.g. postgres)",
            )
        return getattr(plugin, method)

    async def submit(request: Request) -> Response:
        authorise(request)
        queue = state.get("queue")
        if queue is None:
            raise Problem(
                404,
                "Not configured",
                "this server has no queue: start stoq serve with --submit-to PLUGIN (e.g. redis)",
            )
        upload = await read_upload(request, config.max_upload)
        extra = {**upload.extra, **({"filename": upload.filename} if upload.filename else {})}
        try:
            submission = await run_in_threadpool(
                queue.submit, upload.content, extra, upload.dispatch
            )
        except RuntimeError as exc:  # the queue refuses more work (e.g. redis BacklogFull)
            raise Problem(503, "Queue full", str(exc)) from None
        body = {"scan_id": submission.scan_id, "status": f"/api/v1/scans/{submission.scan_id}"}
        return JSONResponse(body, status_code=202)

    async def scan_result(request: Request) -> Response:
        authorise(request)
        fetch = store("fetch")
        scan_id = request.path_params["scan_id"]
        found = await run_in_threadpool(fetch, scan_id)
        if found is None:
            raise Problem(404, "Not found", f"no saved result for scan {scan_id!r} (yet)")
        return JSONResponse(found)

    async def scan_list(request: Request) -> Response:
        authorise(request)
        search = store("search")
        text = request.query_params.get("q", "")
        limit = request.query_params.get("limit", "50")
        if not limit.isdigit() or not 1 <= int(limit) <= 500:
            raise Problem(400, "Bad limit", f"limit {limit!r} is not a number from 1 to 500")
        return JSONResponse(await run_in_threadpool(search, text, int(limit)))

    async def health(request: Request) -> Response:
        plugins: Dict[str, str] = state["plugins"]
        ok = all(status == "ok" for status in plugins.values())
        body = {"status": "ok" if ok else "degraded", "version": __version__, "plugins": plugins}
        return JSONResponse(body)

    async def plugins(request: Request) -> Response:
        authorise(request)
        return JSONResponse(state["inventory"])

    async def openapi(request: Request) -> Response:
        document = openapi_document(
            config.token is not None,
            queue=state["queue"] is not None,
            store=state["results"] is not None,
            search=hasattr(state["results"], "search"),
        )
        return JSONResponse(document)

    async def index(request: Request) -> Response:
        context = {
            "version": __version__,
            "max_upload": config.max_upload,
            "token": config.token is not None,
        }
        return templates.TemplateResponse(request, "index.html", context)

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        headers = {"www-authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc, headers)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        problem = Problem(exc.status_code, "HTTP error", str(exc.detail))
        return problem_response(problem, dict(exc.headers or {}))  # e.g. Allow with a 405

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem_response(
            Problem(500, "Internal error", f"{type(exc).__name__}; the server log has the details")
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from stoq.inventory import inventory

        state["plugins"] = _plugin_status(stoq)
        state["inventory"] = [p.to_dict() for p in inventory(stoq.settings.plugin_dir_list)]
        scanner.start()
        try:
            yield
        finally:
            scanner.stop()

    routes: List[Any] = [
        Route("/", index, methods=["GET"]),
        Route("/api/v1/scan", scan, methods=["POST"]),
        Route("/api/v1/submit", submit, methods=["POST"]),
        Route("/api/v1/scans", scan_list, methods=["GET"]),
        Route("/api/v1/scans/{scan_id}", scan_result, methods=["GET"]),
        Route("/api/v1/health", health, methods=["GET"]),
        Route("/api/v1/plugins", plugins, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={Problem: on_problem, HTTPException: on_http_error, Exception: on_crash},
    )
    app.add_middleware(SecurityHeaders)
    return app
