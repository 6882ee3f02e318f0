"""Shared by the benchmarks: print a result line and append it to bench/results/."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

RESULTS = Path(__file__).resolve().parent / "results"


def report(name: str, numbers: Dict[str, Any], ratio: float, target: str, met: bool) -> None:
    """Print ``name: ratio (target) numbers`` and keep it as JSON for bench/README.md."""
    record = {
        "benchmark": name,
        "ratio": round(ratio, 3),
        "target": target,
        "met": met,
        **numbers,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": datetime.now(timezone.utc).date().isoformat(),
    }
    print(f"{name}: ratio {ratio:.2f} (target {target}, {'met' if met else 'NOT met'}) {numbers}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
