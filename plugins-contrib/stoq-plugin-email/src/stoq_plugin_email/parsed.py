"""What either message format turns into: results and the files to hand to the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

__all__ = ["Limits", "Parsed"]


@dataclass(frozen=True)
class Limits:
    max_parts: int
    max_urls: int
    max_headers: int
    max_body_chars: int
    max_nested: int


@dataclass
class Parsed:
    """Results so far, children (content, extra_data) and what limits left out."""

    limits: Limits
    results: Dict[str, Any] = field(default_factory=dict)
    children: List[Tuple[bytes, Dict[str, Any]]] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    parts_seen: int = 0

    def add_child(self, content: bytes, extra: Dict[str, Any]) -> bool:
        """Keep a child unless ``max_parts`` is reached (then count it as skipped)."""
        self.parts_seen += 1
        if len(self.children) >= self.limits.max_parts:
            return False
        self.children.append((content, extra))
        return True

    def finish(self) -> Dict[str, Any]:
        if self.parts_seen > len(self.children):
            self.skipped.append(
                f"{self.parts_seen - len(self.children)} parts beyond max_parts"
                f" ({self.limits.max_parts}) not extracted"
            )
        if self.skipped:
            self.results["skipped"] = self.skipped
        return self.results
