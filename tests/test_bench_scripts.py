"""Every benchmark script runs to its report on a tiny input: `nox -s bench` runs them all, one
after the other, and stops at the first that fails (extraction_stages.py once raised KeyError
there unnoticed). The figures are not checked here: targets live in the benchmarks alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"

#: Each script with arguments small enough for a test run; every script must be listed.
TINY = {
    "big_file": ["--size-mib", "2", "--rounds", "1"],
    "cache": ["--files", "2", "--copies", "2", "--members", "3", "--rounds", "1"],
    "default_profile": ["--zips", "2", "--members", "5", "--rounds", "1"],
    "extraction": ["--members", "20", "--rounds", "1"],
    "extraction_stages": ["--members", "20"],
    "overhead": ["-n", "50", "--rounds", "1"],
    "plugin_costs": ["--zips", "2", "--members", "5", "--rounds", "1"],
    "queue_run": ["--files", "12", "--rounds", "1", "--rate", "200", "--latency-files", "3"],
    "scaling": ["--files", "4", "--size", "1024", "--rounds", "1"],
    "startup": ["--rounds", "1"],
}


def test_every_script_has_tiny_arguments() -> None:
    scripts = {p.stem for p in BENCH.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(TINY)


@pytest.mark.parametrize("script", sorted(TINY))
def test_script_runs_and_records_its_rows(script: str, tmp_path: Path) -> None:
    env = dict(os.environ, STOQ_BENCH_RESULTS=str(tmp_path / "results"))
    env = {k: v for k, v in env.items() if not k.startswith("COVERAGE")}
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), *TINY[script]],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    rows: List[dict] = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("*.json")]
    if script not in ("extraction_stages", "plugin_costs"):  # print costs only, no target row
        assert rows and all(row["benchmark"] == script for row in rows), done.stdout
        assert all(f"{script}: {row['row']}: ratio" in done.stdout for row in rows)


def test_a_run_whose_responses_hold_errors_is_measured_and_a_failure_is_not(tmp_path: Path) -> None:
    """Random bytes that begin like gzip (1f 8b, then not deflate's 08) are gzip to libmagic,
    so the default profile sends them to decompress, which reports an Error and `stoq scan`
    exits 1: the benchmarks' random corpora meet this now and then, and the run still counts.
    A command that fails for another reason still stops the benchmark."""
    sys.path.insert(0, str(BENCH))
    try:
        from _common import bench_env, finished_with_response_errors, run_command
    finally:
        sys.path.remove(str(BENCH))
    sample = tmp_path / "looks-like-gzip.bin"
    sample.write_bytes(b"\x1f\x8b\x00" + bytes(range(256)) * 8)
    env = bench_env(tmp_path / "home")
    stoq = [sys.executable, "-m", "stoq"]
    scanned = subprocess.run([*stoq, "scan", "--jsonl", str(sample)], capture_output=True, env=env)
    assert scanned.returncode == 1 and b"no supported archive" in scanned.stdout
    assert run_command([*stoq, "scan", "--jsonl", str(sample)], env).cpu > 0
    with pytest.raises(RuntimeError, match="exited with"):
        run_command([*stoq, "scan", "--jsonl", str(tmp_path / "missing")], env)
    summary = "stoq: run finished with 2 response(s) with errors"
    assert finished_with_response_errors(1, summary + "\n")
    assert not finished_with_response_errors(
        1, "stoq: run finished with 1 consumer process death(s)"
    )
    assert not finished_with_response_errors(1, "Traceback (most recent call last):\n" + summary)
    assert not finished_with_response_errors(3, "")


def test_the_default_profiles_parts_are_the_work_stoq_does(tmp_path: Path, monkeypatch) -> None:
    """default_profile's "parts" side (the plugins called directly) calls, on every payload
    stoQ scans, each worker stoQ ran on it, once: the bare loop used to run a worker twice
    when the yara dispatcher and the results deep dispatcher both chose it."""
    import hashlib

    monkeypatch.setenv("STOQ_HOME", str(tmp_path / "home"))
    monkeypatch.syspath_prepend(str(BENCH))
    import default_profile
    from _mp_floor import build_analysis
    from default_profile import make_corpus, parts_scan

    from stoq import Stoq

    corpus = make_corpus(2, 8)
    stoq = Stoq(profile="default")
    expected, payloads, why = [], 0, {}
    for content in corpus:
        response = json.loads(str(stoq.scan(content)))
        assert response["errors"] == []
        payloads += len(response["results"])
        for entry in response["results"]:
            ran = [name for names in entry["plugins_run"]["workers"] for name in names]
            expected += [(entry["sha256"], name) for name in ran if name != "hash"]
            why[entry["sha256"]] = (entry["dispatch_meta"], entry["deep_dispatch_meta"])

    calls = []
    load_plugin = Stoq.load_plugin

    def counting(self, name, *args, **kwargs):
        plugin = load_plugin(self, name, *args, **kwargs)
        scan = getattr(plugin, "scan", None)
        if scan is not None:

            def counted(payload, meta):
                calls.append((hashlib.sha256(payload.content).hexdigest(), name))
                return scan(payload, meta)

            plugin.scan = counted
        return plugin

    monkeypatch.setattr(Stoq, "load_plugin", counting)
    analyse = build_analysis()
    written: List[dict] = []
    monkeypatch.setattr(default_profile, "dumps", written.append)
    assert sum(parts_scan(analyse, content) for content in corpus) == payloads
    assert sorted(calls) == sorted(expected)
    # The same JSON to write: each payload's dispatch and deep dispatch meta (why workers ran).
    entries = [entry for response in written for entry in response["results"]]
    assert {e["sha256"]: (e["dispatch_meta"], e["deep_dispatch_meta"]) for e in entries} == why
    assert {"decompress", "pdf", "mimetype", "fuzzyhash"} <= {name for _, name in calls}


def test_the_spec_minimum_writes_what_stoq_writes(monkeypatch) -> None:
    """overhead.py's SPEC-minimum side bounds what an engine could reach only if it does all of
    stoQ's work: its response must be stoQ's, ids, times and timing values aside."""
    monkeypatch.syspath_prepend(str(BENCH))
    import overhead

    from stoq import Stoq

    def masked(response: dict) -> dict:
        response.update(scan_id="id", time="time", timings={"total": 0.0})
        for entry in response["results"]:
            entry.update(
                payload_id="id", timings={"scan": dict.fromkeys(entry["timings"]["scan"], 0.0)}
            )
        return response

    written: List[dict] = []
    monkeypatch.setattr(overhead, "dumps", lambda obj: written.append(json.loads(json.dumps(obj))))
    contents = [os.urandom(1024), b"", b"text"]
    overhead.spec_minimum_loop(contents)
    stoq = Stoq(always_dispatch=["hash"], plugin_opts={"hash": {"algorithms": overhead.ALGORITHMS}})
    expected = [masked(json.loads(str(stoq.scan(content)))) for content in contents]
    assert [masked(response) for response in written] == expected
