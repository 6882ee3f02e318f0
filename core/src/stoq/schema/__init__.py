"""The JSON Schema of a serialised StoqResponse, shipped for consumers of stoQ output."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Dict

__all__ = ["response_schema"]


def response_schema() -> Dict[str, Any]:
    """The response schema (JSON Schema 2020-12) as a dict."""
    text = resources.files(__name__).joinpath("response.schema.json").read_text(encoding="utf-8")
    schema: Dict[str, Any] = json.loads(text)
    return schema
