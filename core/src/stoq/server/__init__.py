"""``stoq serve``: an HTTP API for submissions and a results page (extra ``server``).

``stoq.server.app.create_app`` builds the ASGI application and ``stoq.cli.serve`` runs it with
uvicorn. Nothing is imported here, so ``stoq.server.openapi`` (the API description, read by the
docs build) works without the extra.
"""
