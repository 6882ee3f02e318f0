"""``stoq scan --stats``: which plugins the run's time went to, summed over every response.

Built only from the responses' ``timings`` and ``errors`` (what a saved JSON line also holds),
so responses from consumer processes count the same as those scanned in this one. The table
is drawn by ``tabulate`` (MIT, pure Python, no dependencies of its own), imported only then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Sequence

__all__ = ["PluginStats", "ScanStats", "percentile"]

_HEADER = (
    "plugin",
    "stage",
    "calls",
    "total s",
    "p50 ms",
    "p99 ms",
    "errors",
    "timeouts",
    "cached",
)
_ALIGN = ("left", "left") + ("right",) * 7


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty sequence."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class PluginStats:
    """One plugin's calls over the run."""

    stages: Dict[str, None] = field(default_factory=dict)
    seconds: List[float] = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0
    #: Calls answered by the result cache.
    cached: int = 0


class ScanStats:
    """Adds up responses (as JSON dicts) and draws the table."""

    def __init__(self) -> None:
        self.plugins: Dict[str, PluginStats] = {}
        self.requests = 0
        #: Requests answered whole by the result cache (``stoq.request_cache``).
        self.cached_requests = 0
        self.payloads = 0
        self.total = 0.0

    def _plugin(self, name: str) -> PluginStats:
        stats = self.plugins.get(name)
        if stats is None:
            stats = self.plugins[name] = PluginStats()
        return stats

    def add(self, response: Mapping[str, Any]) -> None:
        self.requests += 1
        self.cached_requests += bool(response.get("from_cache"))
        request_timings = response.get("timings") or {}
        self.total += float(request_timings.get("total", 0.0))
        stage_maps = [dict(request_timings, total=None)]
        for result in response.get("results", []):
            self.payloads += 1
            stage_maps.append(result.get("timings") or {})
            for name in result.get("from_cache", []):
                stats = self._plugin(name)
                stats.cached += 1
                stats.stages["scan"] = None  # only workers are cached
        for timings in stage_maps:
            for stage, plugins in timings.items():
                if not isinstance(plugins, dict):
                    continue
                for name, seconds in plugins.items():
                    stats = self._plugin(name)
                    stats.stages[stage] = None
                    stats.seconds.append(float(seconds))
        for error in response.get("errors", []):
            name = error.get("plugin_name")
            if not name:
                continue
            stats = self._plugin(name)
            if error.get("stage") == "timeout":
                stats.timeouts += 1
            else:
                stats.errors += 1

    def table(self) -> str:
        """Plugins by total time, slowest first, with a closing line for the whole run."""
        from tabulate import tabulate  # imported only when --stats asks for the table

        rows = []
        ranked = sorted(self.plugins.items(), key=lambda item: -sum(item[1].seconds))
        for name, stats in ranked:
            ordered = sorted(stats.seconds)
            rows.append(
                [
                    name,
                    ",".join(stats.stages) or "-",
                    str(len(ordered)),
                    f"{sum(ordered):.3f}",
                    f"{percentile(ordered, 0.5) * 1000:.2f}" if ordered else "-",
                    f"{percentile(ordered, 0.99) * 1000:.2f}" if ordered else "-",
                    str(stats.errors),
                    str(stats.timeouts),
                    str(stats.cached),
                ]
            )
        body = tabulate(
            rows,
            headers=_HEADER,
            tablefmt="simple",
            colalign=_ALIGN,
            disable_numparse=True,  # cells keep the digits chosen above
        )
        cached = f" ({self.cached_requests} whole from the cache)" if self.cached_requests else ""
        return (
            f"{body}\n{self.requests} requests{cached}, {self.payloads} payloads,"
            f" {self.total:.3f} s in requests"
        )
