"""Small helpers the CLI tests share (kept out of conftest.py so tests can import them)."""

from __future__ import annotations

import json
from typing import Any, Dict, List


def json_lines(text: str) -> List[Dict[str, Any]]:
    """Each non-empty line parsed as one JSON document."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
