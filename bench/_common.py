"""Shared by the benchmarks: interleaved timing of several sides, CPU beside wall time,
min/median/max of the repeats, and one printed line per result row with its target.

A shared machine drifts: another job starts, the CPU's clock changes. Running the sides one
after the other would put all of one side in a quiet minute and all of the other in a busy one,
so every round runs each side once, in an order that alternates between rounds, and the ratio
is taken between medians. CPU time (user + system, of every thread and every child process a
side waited for) is what the ratios use where the machine is shared; wall time is printed beside
it, and the scaling benchmark, whose subject is wall time, uses that.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

#: Where each row is kept (STOQ_BENCH_RESULTS: elsewhere, e.g. for the scripts' smoke test).
RESULTS = Path(os.environ.get("STOQ_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
#: How to run the stoq CLI with the interpreter running the benchmark (so a venv is honoured).
STOQ = [sys.executable, "-m", "stoq"]


@dataclass
class Sample:
    """One run of one side: seconds of CPU and of wall clock, and peak RSS in bytes if known."""

    cpu: float
    wall: float
    rss: int = 0


def bench_env(home: Path) -> Dict[str, str]:
    """The environment for measured commands: an empty STOQ_HOME, and bytecode caching on.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on this project's build machine) and packages
    installed without compiled bytecode (uv's default), every start would compile every module
    from source, which is not what an installed stoQ does; the warm-up run writes the caches.
    """
    env = dict(os.environ, STOQ_HOME=str(home))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


#: Run mode's last line when some responses hold an Error and nothing else went wrong.
_RESPONSE_ERRORS = re.compile(r"stoq: run finished with \d+ response\(s\) with errors")


def finished_with_response_errors(returncode: int, stderr: str) -> bool:
    """Whether a stoq command scanned everything but some responses hold an Error: exit
    status 1 and nothing on stderr but run mode's summary saying only that (``scan`` says
    nothing). Random files meet this now and then: decompress reports an Error for random
    bytes that libmagic calls gzip or bzip2 (their first two or three bytes; about 3 files in
    65,536). The run still did all its work, so its time counts; any other output fails it."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return returncode == 1 and all(_RESPONSE_ERRORS.fullmatch(line) for line in lines)


def run_command(command: Sequence[str], env: Optional[Dict[str, str]] = None) -> Sample:
    """Run ``command`` (output discarded) and measure it with ``wait4``: CPU time and peak RSS
    of the process and every descendant it waited for (consumer processes included).

    Fails unless the command succeeded or finished with responses holding Errors only."""
    with tempfile.TemporaryFile() as errors:  # kept to say why, should the command fail
        started = time.perf_counter()
        process = subprocess.Popen(list(command), env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            text = errors.read().decode("utf-8", "replace")
            if not finished_with_response_errors(process.returncode, text):
                tail = text[-3000:]
                raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}:\n{tail}")
    return Sample(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss * 1024)


def in_process(run: Callable[[], Any]) -> Callable[[], Sample]:
    """A side that runs ``run`` in this process, timed with ``process_time`` (all threads)."""

    def side() -> Sample:
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        return Sample(time.process_time() - cpu, time.perf_counter() - wall)

    return side


def interleave(
    sides: Dict[str, Callable[[], Sample]], rounds: int, warm_up: bool = True
) -> Dict[str, List[Sample]]:
    """Run every side once to warm up (not counted), then once per round, reversing the order
    every other round."""
    names = list(sides)
    samples: Dict[str, List[Sample]] = {name: [] for name in names}
    for name in names if warm_up else ():
        sides[name]()
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            samples[name].append(sides[name]())
    return samples


def median(samples: List[Sample], what: str = "cpu") -> float:
    return statistics.median(getattr(sample, what) for sample in samples)


def spread(samples: List[Sample], what: str = "cpu", scale: float = 1.0, unit: str = "s") -> str:
    """``min/median/max`` of one measure, scaled (for example to microseconds per item)."""
    values = sorted(getattr(sample, what) * scale for sample in samples)
    digits = 3 if values[-1] < 10 else 1 if values[-1] < 1000 else 0
    low, mid, high = values[0], statistics.median(values), values[-1]
    return f"{low:.{digits}f}/{mid:.{digits}f}/{high:.{digits}f} {unit}"


def describe(
    samples: Dict[str, List[Sample]], scale: float = 1.0, unit: str = "s"
) -> Dict[str, str]:
    """For each side, CPU and wall time as min/median/max strings."""
    numbers = {}
    for name, runs in samples.items():
        numbers[f"{name} cpu"] = spread(runs, "cpu", scale, unit)
        numbers[f"{name} wall"] = spread(runs, "wall", scale, unit)
    return numbers


def report(
    name: str,
    row: str,
    ratio: float,
    target: str,
    met: Optional[bool],
    numbers: Dict[str, Any],
) -> None:
    """Print one result row with its target, and keep it in bench/results/<name>.json."""
    verdict = "reported" if met is None else "met" if met else "NOT met"
    print(f"{name}: {row}: ratio {ratio:.2f} (target {target}: {verdict})")
    for key, value in numbers.items():
        print(f"    {key}: {value}")
    sys.stdout.flush()
    record = {
        "benchmark": name,
        "row": row,
        "ratio": round(ratio, 3),
        "target": target,
        "met": met,
        **numbers,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg()[0],
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(exist_ok=True)
    slug = row.split(",")[0].replace(" ", "_").replace("/", "_")
    (RESULTS / f"{name}--{slug}.json").write_text(json.dumps(record, indent=2) + "\n")
