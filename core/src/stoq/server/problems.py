"""Errors as RFC 9457 problem details (``application/problem+json``), never tracebacks."""

from __future__ import annotations

from typing import Any, Dict

from starlette.responses import JSONResponse

__all__ = ["PROBLEM_TYPE", "Problem", "problem_response"]

PROBLEM_TYPE = "application/problem+json"


class Problem(Exception):
    """An HTTP error with a title (the kind) and a detail (this occurrence, naming the cause)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail

    def to_dict(self) -> Dict[str, Any]:
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }


def problem_response(problem: Problem, headers: Dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.to_dict(), status_code=problem.status, media_type=PROBLEM_TYPE, headers=headers
    )
