"""The scale-out path: a two-consumer `stoq run` fed by a Redis stream against `stoq run -P
filedir` on the same files, and the latency from submit to saved row in PostgreSQL.

Throughput: both sides scan the same folder with the default profile, two consumer processes
and the stdout connector; the Redis side's files are submitted before its run starts (not
timed) and its provider stops when the stream is idle (`stop_when_idle`, which adds that much
wall time at the end). Sides alternate round by round; each is measured with ``wait4``.
Target: Redis-fed throughput at least 0.8 of filedir's (ratio of median wall times).
The run is long enough to measure a working node (6,000 files by default, ~5 s a side here):
since the engine got faster, 1,500 files took ~1.2 s, a fifth of which was what only the Redis
side pays once (importing redis-py, which imports asyncio: ~130 ms; ``stop_when_idle``).

Latency: one node (`-P redis -C postgres`, two consumers) runs while files are submitted at a
steady rate below its capacity; for each file, the time from ``submit`` to the row's
``saved_at`` (same machine, same clock). Reported as p50/p99.

Needs the local Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, database ``test``).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List

import psycopg
import redis
from _common import STOQ, bench_env, describe, interleave, median, report, run_command

from stoq_plugin_redis.submit import Submitter

REDIS_URL = os.environ.get("STOQ_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get("STOQ_BENCH_POSTGRES_DSN", "host=127.0.0.1 dbname=test user=postgres")
IDLE = 0.1
#: Files scanned (and not counted) before the latency run, so plugins are loaded and warm.
WARM_UP = 4


def make_folder(root: Path, files: int, size: int) -> Path:
    folder = root / "files"
    folder.mkdir()
    for i in range(files):
        text = (b"line %d of a text file\n" % i) * (size // 48)
        content = os.urandom(size) if i % 2 else text  # half random, half text
        (folder / f"file-{i:05d}.bin").write_bytes(content)
    return folder


def redis_config(root: Path, stream: str, idle: float, extra: str = "") -> Path:
    """Two consumers on ``stream``; ``idle`` > 0 ends the run once the stream is idle."""
    config = root / f"{stream.replace(':', '_')}.toml"
    config.write_text(
        f'[core]\nconsumers = 2\n\n[plugins.redis]\nurl = "{REDIS_URL}"\nstream = "{stream}"\n'
        f"read_block = 0.05\nstop_when_idle = {idle}\n{extra}"
    )
    return config


def throughput(root: Path, folder: Path, rounds: int, env: Dict[str, str]) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    files = sorted(folder.iterdir())
    filedir = [
        *STOQ, "run", "--consumers", "2", "-P", "filedir",
        "--plugin-opts", f"filedir:source_dir={folder}", "-C", "stdout",
    ]  # fmt: skip

    def redis_side() -> object:
        stream = f"stoq-bench:{uuid.uuid4().hex[:8]}:work"
        submitter = Submitter({"url": REDIS_URL, "stream": stream, "max_backlog": len(files) + 1})
        for path in files:
            submitter.submit(path.read_bytes(), {"filename": path.name})
        command = [*STOQ, "run", "--config", str(redis_config(root, stream, IDLE)), "-P", "redis"]
        try:
            sample = run_command([*command, "-C", "stdout"], env)
            assert client.xlen(stream) == 0, "the Redis side left work unscanned"
            return sample
        finally:
            for key in client.scan_iter(match=f"{stream.rsplit(':', 1)[0]}:*"):
                client.delete(key)

    samples = interleave(
        {"filedir": lambda: run_command(filedir, env), "redis": redis_side},  # type: ignore[dict-item]
        rounds,
    )
    ratio = median(samples["filedir"], "wall") / median(samples["redis"], "wall")
    report(
        "queue_run",
        "redis-fed run --consumers 2, throughput vs run -P filedir",
        ratio,
        ">= 0.8",
        ratio >= 0.8,
        {
            "files": len(files),
            "files/s filedir (median wall)": round(
                len(files) / median(samples["filedir"], "wall"), 1
            ),
            "files/s redis (median wall)": round(len(files) / median(samples["redis"], "wall"), 1),
            "redis CPU / filedir CPU": round(
                median(samples["redis"]) / median(samples["filedir"]), 3
            ),
            "stop_when_idle included in redis wall": f"{IDLE} s",
            **describe(samples),
        },
    )


def latency(root: Path, folder: Path, rate: float, env: Dict[str, str]) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    tag = uuid.uuid4().hex[:8]
    stream, schema = f"stoq-bench:{tag}:work", f"stoq_bench_{tag}"
    config = redis_config(
        root, stream, 0.0, f'\n[plugins.postgres]\ndsn = "{POSTGRES_DSN}"\nschema = "{schema}"\n'
    )
    node = subprocess.Popen(
        [*STOQ, "run", "--config", str(config), "-P", "redis", "-C", "postgres"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    db = psycopg.connect(POSTGRES_DSN, autocommit=True)
    try:
        submitter = Submitter({"url": REDIS_URL, "stream": stream})
        files = sorted(folder.iterdir())
        warm = [submitter.submit(p.read_bytes()).scan_id for p in files[:WARM_UP]]
        _rows_for(db, schema, len(warm))
        sent: Dict[str, float] = {}
        start = time.time()
        for index, path in enumerate(files[WARM_UP:]):
            time.sleep(max(0.0, start + index / rate - time.time()))
            content = path.read_bytes()
            sent[submitter.submit(content, {"filename": path.name}).scan_id] = time.time()
        rows = [r for r in _rows_for(db, schema, len(warm) + len(sent)) if r[0] in sent]
        waits = sorted(float(saved) - sent[scan_id] for scan_id, saved in rows)
        p50 = statistics.median(waits)
        p99 = waits[min(len(waits) - 1, round(0.99 * len(waits)) - 1)]
        report(
            "queue_run",
            "submit to saved row (PostgreSQL), latency",
            p99 / p50,
            "reported (p99 / p50)",
            None,
            {
                "files": len(waits),
                "warm-up files (not counted)": WARM_UP,
                "submit rate": f"{rate:g}/s",
                "p50": f"{p50 * 1000:.0f} ms",
                "p99": f"{p99 * 1000:.0f} ms",
                "max": f"{waits[-1] * 1000:.0f} ms",
            },
        )
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(60)
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        db.close()
        for key in client.scan_iter(match=f"stoq-bench:{tag}:*"):
            client.delete(key)


def _rows_for(db: psycopg.Connection, schema: str, count: int) -> List[tuple]:
    """(scan id, saved_at as Unix time) once ``count`` rows are saved (two minutes at most)."""
    deadline = time.monotonic() + 120
    rows: List[tuple] = []
    while time.monotonic() < deadline:
        try:
            rows = db.execute(
                f"SELECT scan_id, extract(epoch from saved_at) FROM {schema}.stoq_responses"
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            rows = []
        if len(rows) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"{len(rows)} of {count} rows saved")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=6000)
    parser.add_argument("--size", type=int, default=16 * 1024, help="bytes per file")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0, help="latency: files per second")
    parser.add_argument("--latency-files", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = make_folder(root, args.files, args.size)
        env = bench_env(root / "home")
        throughput(root, folder, args.rounds, env)
        few = sorted(folder.iterdir())[args.latency_files + WARM_UP :]
        for path in few:
            path.unlink()
        latency(root, folder, args.rate, env)


if __name__ == "__main__":
    sys.exit(main())
