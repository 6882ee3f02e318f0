"""``stoq serve``: an HTTP API for submissions and a results page (extra ``server``).

``create_app`` builds the ASGI application; ``stoq.cli.serve`` runs it with uvicorn.
"""

from stoq.server.app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app"]
