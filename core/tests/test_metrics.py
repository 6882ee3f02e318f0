"""SPEC §14: `stoq run --metrics-port` serves Prometheus metrics counted in every consumer."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, Tuple


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _samples(text: str) -> Dict[str, float]:
    """``name{labels}`` → value for every sample line of the exposition format."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            found[key] = float(value)
    return found


def _scrape_while_running(command: list, port: int, until: int) -> Tuple[str, str, str, int]:
    """Scrape until ``until`` failed requests are counted; then let the run finish. The
    standard error returned ends with how the scrapes went (a failure then says why)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    text, scrapes, problems = "", 0, []
    started = time.monotonic()
    try:
        while time.monotonic() < started + 90 and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                    scrapes += 1
            except OSError as exc:
                problems.append(f"{time.monotonic() - started:.2f} s: {exc!r}")
                time.sleep(0.1)
                continue
            if _samples(text).get('stoq_requests_total{outcome="failed"}', 0) >= until:
                break
            time.sleep(0.05)
    finally:
        out, err = proc.communicate(timeout=90)
    ended = time.monotonic() - started
    err += f"\n[{scrapes} scrapes answered; run ended at {ended:.2f} s; {len(problems)} failed"
    err += f", the last: {problems[-3:]}]"
    return text, out, err, proc.pid


def test_a_real_run_is_scraped_with_every_consumer_counted(tmp_path: Path) -> None:
    """Two consumers scan; the parent's endpoint adds up both processes' metrics."""
    port = _free_port()
    items = ", ".join(f'"item {n}"' for n in range(8))
    config = tmp_path / "stoq.toml"
    config.write_text(
        f"[plugins.multi_role]\nitems = [{items}]\n[plugins.sleep_worker]\nseconds = 0.6\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "stoq", "run", "--profile", "none", "--config", str(config)]
    command += ["-P", "multi_role", "-a", "sleep_worker,raise_worker", "--consumers", "2"]
    command += ["--metrics-port", str(port)]
    text, out, err, parent = _scrape_while_running(command, port, 4)
    scraped = _samples(text)
    requests = scraped.get('stoq_requests_total{outcome="failed"}', 0)
    assert requests >= 4, (text, err)
    assert scraped["stoq_payloads_total"] == requests
    assert scraped["stoq_payload_bytes_total"] == requests * len("item 0")
    assert scraped['stoq_errors_total{plugin="raise_worker",stage="scan"}'] == requests
    calls = scraped['stoq_plugin_call_seconds_count{plugin="sleep_worker",stage="scan"}']
    assert calls == requests
    slept = scraped['stoq_plugin_call_seconds_sum{plugin="sleep_worker",stage="scan"}']
    assert slept >= 0.6 * calls
    assert (
        scraped['stoq_plugin_call_seconds_bucket{le="0.5",plugin="sleep_worker",stage="scan"}'] == 0
    )
    assert scraped["stoq_request_seconds_count"] == requests
    assert scraped["stoq_consumer_restarts_total"] == 0
    assert "stoq_queue_depth" in scraped
    consumers = set(re.findall(r'stoq_consumer_up\{pid="(\d+)"\} 1\.0', text)) - {str(parent)}
    assert len(consumers) == 2, text
    assert len(out.splitlines()) == 8


def test_a_dead_consumer_is_counted_as_a_restart(tmp_path: Path) -> None:
    port = _free_port()
    config = tmp_path / "stoq.toml"
    # Eight answers after the restart: the run lasts ~2 s more, time for a scrape to see it.
    items = ", ".join(['"crash now"'] + [f'"fine {n}"' for n in range(8)])
    config.write_text(
        f"[plugins.multi_role]\nitems = [{items}]\n[plugins.sleep_worker]\nseconds = 0.5\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "stoq", "run", "--profile", "none", "--config", str(config)]
    command += ["-P", "multi_role", "-a", "crash_worker,sleep_worker,raise_worker"]
    command += ["--consumers", "2", "--metrics-port", str(port)]
    text, _, err, _ = _scrape_while_running(command, port, 3)
    assert _samples(text).get("stoq_consumer_restarts_total") == 1, (text, err)


def test_without_the_flag_prometheus_client_is_not_imported() -> None:
    script = (
        "import sys, stoq.run, stoq.cli; "
        "print('prometheus_client' in sys.modules, stoq.metrics.enabled())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]
