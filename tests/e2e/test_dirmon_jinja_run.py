"""``stoq run -P dirmon -C jinja``: files dropped into a watched folder while the command runs
come out on standard output as the user's template renders them, and nothing else does.

With a connector configured, ``stoq run`` prints no JSON of its own, so the jinja connector's
rendering is the output stream; SIGTERM stops the run cleanly (exit status 0). ``stoq scan``
does the same with the connector, and keeps its JSON with the decorator.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stoq.sources import discover


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    missing = [name for name in ("dirmon", "jinja", "hash") if name not in discover()]
    if missing:
        pytest.fail(f"plugins {missing} are not installed (nox -s cross installs them)")


def test_dropped_files_are_rendered_to_stdout_until_sigterm(
    tmp_path: Path, windows_pe: bytes
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    template = tmp_path / "line.txt.j2"
    template.write_text(
        "{% for r in response.results %}{{ r.payload_meta.extra_data.filename }} "
        "{{ r.workers[0].hash.sha256 }}\n{% endfor %}",
        encoding="utf-8",
    )
    command = [
        str(Path(sys.executable).with_name("stoq")), "run", "--profile", "none",
        "-P", "dirmon", "-C", "jinja", "-a", "hash",
        "--plugin-opts", f"dirmon:paths={drop}", "--plugin-opts", "dirmon:settle_seconds=0.3",
        "--plugin-opts", f"jinja:template={template}",
    ]  # fmt: skip
    env = {**os.environ, "STOQ_HOME": str(tmp_path / "no-stoq-home")}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        time.sleep(3)  # plugins loaded, the watch registered
        (drop / "invoice.exe").write_bytes(windows_pe)
        (drop / "sub").mkdir()
        (drop / "sub" / "notes.txt").write_bytes(b"dropped notes\n")
        time.sleep(6)
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err.decode()
    assert sorted(out.decode().splitlines()) == sorted(
        [
            f"invoice.exe {hashlib.sha256(windows_pe).hexdigest()}",
            f"notes.txt {hashlib.sha256(b'dropped notes' + bytes([10])).hexdigest()}",
        ]
    )


def test_stoq_scan_with_the_jinja_connector_prints_the_rendering_instead_of_json(
    tmp_path: Path,
) -> None:
    """``stoq scan -C jinja``: the rendering replaces the JSON; ``-D jinja`` keeps the JSON."""
    sample = tmp_path / "report.txt"
    sample.write_bytes(b"quarterly report\n")
    template = tmp_path / "t.j2"
    template.write_text("{{ response.results[0].workers[0].hash.md5 }}\n", encoding="utf-8")
    stoq = str(Path(sys.executable).with_name("stoq"))
    common = ["--profile", "none", "-a", "hash", "--plugin-opts", f"jinja:template={template}"]
    env = {**os.environ, "STOQ_HOME": str(tmp_path / "no-stoq-home")}
    connector = subprocess.run(
        [stoq, "scan", "-C", "jinja", *common, str(sample)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert connector.returncode == 0, connector.stderr.decode()
    assert connector.stdout.decode() == hashlib.md5(b"quarterly report\n").hexdigest() + "\n"
    decorator = subprocess.run(
        [stoq, "scan", "--jsonl", "-D", "jinja", *common, str(sample)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert decorator.returncode == 0, decorator.stderr.decode()
    [line] = decorator.stdout.decode().splitlines()
    rendered = json.loads(line)["decorators"]["jinja"]["rendered"]
    assert rendered == hashlib.md5(b"quarterly report\n").hexdigest() + "\n"
