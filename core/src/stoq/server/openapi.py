"""The OpenAPI 3.1 document of the HTTP API, served at ``/api/v1/openapi.json``.

The scan response's schema is the core's own JSON Schema (``stoq/schema/response.schema.json``),
so the API description cannot drift from what ``stoq scan`` prints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List

from stoq.__about__ import __version__

__all__ = ["openapi_document"]

_RESPONSE_SCHEMA = Path(__file__).resolve().parents[1] / "schema" / "response.schema.json"

_PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}

#: Plugin names, one or several separated by commas.
_NAMES = {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_.,-]*$"}}
_FORM_FIELDS: Dict[str, Any] = {
    "filename": {"type": "string", "description": "name recorded as the payload's filename"},
    "source": {"type": "string", "description": "request_meta.source"},
    "extra": {
        "type": "array",
        "items": {"type": "string", "pattern": "^[^=]+=[\\s\\S]*$"},
        "description": "request_meta.extra_data entries, each key=value",
    },
    "dispatch": {**_NAMES, "description": "workers to run on the file (start dispatch)"},
    "deep_dispatch": {**_NAMES, "description": "start deep dispatch"},
}


def _one_or_many(schema: Dict[str, Any]) -> Dict[str, Any]:
    """A form field given once or repeated: multipart cannot tell one value from a list of one."""
    if schema.get("type") != "array":
        return schema
    return {"anyOf": [schema["items"], schema], "description": schema["description"]}


def _problem(description: str) -> Dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _response_schemas() -> Dict[str, Any]:
    """The core's response schema, its ``$defs`` moved into ``components/schemas``."""
    text = _RESPONSE_SCHEMA.read_text(encoding="utf-8")
    text = re.sub(r'"#/\$defs/([A-Za-z0-9_]+)"', r'"#/components/schemas/\1"', text)
    schema = json.loads(text)
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return {"StoqResponse": schema, **defs}


def openapi_document(
    token_required: bool, queue: bool = False, store: bool = False, search: bool = False
) -> Dict[str, Any]:
    """The API description; ``token_required`` adds the bearer scheme to protected operations,
    and the submit and results operations are there when a queue or results store is set."""
    security: List[Dict[str, List[str]]] = [{"bearer": []}] if token_required else []
    unauthorised = {"401": _problem("missing or wrong bearer token")} if token_required else {}
    query = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            **({"style": "form", "explode": True} if schema.get("type") == "array" else {}),
        }
        for name, schema in _FORM_FIELDS.items()
    ]
    scan_body = {
        "required": True,
        "content": {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary", "minLength": 1}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "minLength": 1},
                        **{k: _one_or_many(v) for k, v in _FORM_FIELDS.items()},
                    },
                    "additionalProperties": False,
                }
            },
        },
    }
    bad_upload = {
        "400": _problem("bad input: empty file, unknown field, malformed form"),
        "413": _problem("the upload is larger than the limit"),
        "415": _problem("a multipart body that is not multipart/form-data"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "stoQ",
            "version": __version__,
            "description": "Submit files to stoQ and read the results.",
        },
        "paths": {
            "/api/v1/scan": {
                "post": {
                    "operationId": "scan",
                    "summary": "Scan one file with the server's configuration",
                    "description": "The file is the raw request body (fields as query parameters)"
                    " or the multipart field `file` (fields as form fields). The upload limit is"
                    " enforced while the body streams in.",
                    "security": security,
                    "parameters": query,
                    "requestBody": scan_body,
                    "responses": {
                        "200": {
                            "description": "the stoQ response (errors of plugins are inside it)",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/StoqResponse"}
                                }
                            },
                        },
                        **bad_upload,
                        **unauthorised,
                    },
                }
            },
            **(
                {
                    "/api/v1/submit": {
                        "post": {
                            "operationId": "submit",
                            "summary": "Queue one file for run mode's scanning nodes (`--submit-to`)",
                            "description": "The same body and fields as `/api/v1/scan`. The answer"
                            " names the scan id its response will carry; read it from"
                            " `/api/v1/scans/{scan_id}` once a node saved it.",
                            "security": security,
                            "parameters": query,
                            "requestBody": scan_body,
                            "responses": {
                                "202": {
                                    "description": "queued",
                                    "content": {
                                        "application/json": {
                                            "schema": {
                                                "type": "object",
                                                "required": ["scan_id", "status"],
                                                "properties": {
                                                    "scan_id": {"type": "string"},
                                                    "status": {"type": "string"},
                                                },
                                            }
                                        }
                                    },
                                },
                                **bad_upload,
                                **unauthorised,
                                "503": _problem(
                                    "the queue is full (its backlog limit); try again later"
                                ),
                            },
                        }
                    }
                }
                if queue
                else {}
            ),
            **(
                {
                    "/api/v1/scans": {
                        "get": {
                            "operationId": "scans",
                            "summary": "Past scans in the results store, newest first (`--results-from`)",
                            "security": security,
                            "parameters": [
                                {
                                    "name": "q",
                                    "in": "query",
                                    "required": False,
                                    "schema": {"type": "string"},
                                    "description": "a payload's SHA-256, or part of a filename",
                                },
                                {
                                    "name": "limit",
                                    "in": "query",
                                    "required": False,
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                                },
                            ],
                            "responses": {
                                "200": {
                                    "description": "one object per scan",
                                    "content": {
                                        "application/json": {
                                            "schema": {"type": "array", "items": {"type": "object"}}
                                        }
                                    },
                                },
                                "400": _problem("bad limit"),
                                **unauthorised,
                            },
                        }
                    }
                }
                if search
                else {}
            ),
            **(
                {
                    "/api/v1/scans/{scan_id}": {
                        "get": {
                            "operationId": "scan_result",
                            "summary": "One saved response (`--results-from`)",
                            "security": security,
                            "parameters": [
                                {
                                    "name": "scan_id",
                                    "in": "path",
                                    "required": True,
                                    "schema": {"type": "string"},
                                }
                            ],
                            "responses": {
                                "200": {
                                    "description": "the saved stoQ response",
                                    "content": {
                                        "application/json": {
                                            "schema": {"$ref": "#/components/schemas/StoqResponse"}
                                        }
                                    },
                                },
                                **unauthorised,
                                "404": _problem("no saved response with that scan id (yet)"),
                            },
                        }
                    }
                }
                if store
                else {}
            ),
            "/api/v1/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness, and whether each configured plugin loads",
                    "responses": {
                        "200": {
                            "description": "the server is up",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["status", "version", "plugins"],
                                        "properties": {
                                            "status": {"enum": ["ok", "degraded"]},
                                            "version": {"type": "string"},
                                            "plugins": {
                                                "type": "object",
                                                "additionalProperties": {"type": "string"},
                                            },
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/api/v1/plugins": {
                "get": {
                    "operationId": "plugins",
                    "summary": "The plugins this server can use (as `stoq list --json`)",
                    "security": security,
                    "responses": {
                        "200": {
                            "description": "one object per plugin",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": {"type": "object"}}
                                }
                            },
                        },
                        **unauthorised,
                    },
                }
            },
        },
        "components": {
            "schemas": {"Problem": _PROBLEM, **_response_schemas()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
