"""Reading responses in the end-to-end tests: which worker ran, and which rule asked for it."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

import pytest

from stoq.sources import discover

__all__ = ["found", "reasons", "require_installed", "yara_rules_for"]


def require_installed(plugins: Sequence[str]) -> None:
    """Fail (never skip) when a plugin the test needs is not installed."""
    missing = [name for name in plugins if name not in discover()]
    if missing:
        pytest.fail(f"plugins {missing} are not installed (nox -s cross installs them)")


def found(result: Dict[str, Any], worker: str) -> Any:
    """The worker's results on this payload (from whichever round it ran in)."""
    for round_results in result["workers"]:
        if worker in round_results:
            return round_results[worker]
    ran = [w for r in result["plugins_run"]["workers"] for w in r]
    raise AssertionError(f"{worker} did not run on {result['payload_meta']}: ran {ran}")


def yara_rules_for(result: Dict[str, Any], worker: str) -> List[str]:
    """The yara dispatch rules whose ``plugin`` meta named the worker."""
    return [
        rule
        for rule, meta in result["dispatch_meta"].get("yara", {}).items()
        if isinstance(meta, dict)
        and worker in [n.strip() for n in str(meta.get("plugin", "")).split(",")]
    ]


def reasons(result: Dict[str, Any], worker: str) -> List[str]:
    """The yara dispatch rules and results rules that asked for ``worker`` on this payload."""
    why = [f"yara:{rule}" for rule in yara_rules_for(result, worker)]
    why += [
        f"results:{rule}"
        for rule, meta in result["deep_dispatch_meta"].get("results", {}).items()
        if isinstance(meta, dict) and worker in meta.get("dispatch", [])
    ]
    return why
