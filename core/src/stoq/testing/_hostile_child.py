"""The child process of ``check_hostile_corpus``: scan each input, report one JSON line each.

Run as ``python -m stoq.testing._hostile_child SPEC``. Before each scan it writes a
``started`` line (flushed), so a crash names the input that caused it. An exception escaping
``Stoq.scan`` is reported as a problem of that input and the rest still run.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any, Dict, TextIO

from stoq.core import Stoq
from stoq.serialize import dumps


def _no_constants(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def _hung_or_ran_out(error: Dict[str, Any]) -> bool:
    """The engine's answer to a plugin that passed its deadline or raised ``MemoryError``."""
    text = str(error.get("error") or "")
    return error.get("stage") == "timeout" or (
        error.get("stage") == "limit" and text.startswith("MemoryError")
    )


def _scan_one(stoq: Stoq, plugin: str, data: bytes) -> Dict[str, Any]:
    started = time.monotonic()
    try:
        response = stoq.scan(data, add_start_dispatch=[plugin])
        text = dumps(response)
        text.encode("utf-8")  # strict: a lone surrogate raises
        document = json.loads(text, parse_constant=_no_constants)
    except Exception as exc:  # noqa: BLE001 - what escapes the engine is the finding
        return {"seconds": time.monotonic() - started, "problem": f"{type(exc).__name__}: {exc}"}
    seconds = time.monotonic() - started
    errors = document.get("errors") or []
    for result in document.get("results") or []:
        errors.extend(result.get("errors") or [])
    bad = [e for e in errors if isinstance(e, dict) and _hung_or_ran_out(e)]
    problem = f"{bad[0]['stage']}: {bad[0]['error']}" if bad else ""
    return {"seconds": seconds, "problem": problem, "errors": errors}


def _emit(report: TextIO, entry: Dict[str, Any]) -> None:
    report.write(json.dumps(entry) + "\n")
    report.flush()


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    limit = spec["memory_limit"]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    folder = Path(spec["folder"])
    plugin = spec["plugin"]
    logging.disable(logging.CRITICAL)  # plugin errors are expected; only failures matter
    stoq = Stoq(profile=None, plugin_opts={plugin: spec["plugin_opts"]})
    stoq.load_plugin(plugin)
    with (folder / "report.jsonl").open("w") as report:
        for index in range(spec["count"]):
            data = (folder / f"{index}.bin").read_bytes()
            _emit(report, {"index": index, "started": True})
            _emit(report, {"index": index, **_scan_one(stoq, plugin, data)})
    stoq.close()


if __name__ == "__main__":
    main(sys.argv[1])
