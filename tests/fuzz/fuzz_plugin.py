"""Coverage-guided fuzzing (atheris) of one plugin's ``scan()`` through the engine.

    python tests/fuzz/fuzz_plugin.py PLUGIN [libFuzzer options] CORPUS_DIR [SEED_DIR ...]

Each input is scanned as one request with only PLUGIN as the start dispatch, under the
engine's failure boundary, deadlines and limits, exactly as ``stoq scan`` would. The plugin
raising, timing out or returning garbage is *not* a finding: the engine turns those into an
``Error`` in the response, which is its job. A finding is what breaks that promise:

- an exception escaping ``Stoq.scan`` or the serialisation of its response;
- output that is not valid, strict UTF-8 JSON (no NaN/Infinity, no lone surrogates);
- a hang past ``HANG_SECONDS`` (this harness's own watchdog thread: libFuzzer's ``-timeout`` relies
  on SIGALRM, which the engine's deadlines own) or memory past the cap (``-rss_limit_mb``);
- the engine's ``timeout`` error for the plugin, or its ``limit`` error for a ``MemoryError``: it
  hung past ``PLUGIN_TIMEOUT`` or ran out of memory, which the engine contained but which is still the plugin's bug.

libFuzzer saves the input of each finding (``-artifact_prefix``) and stops; the watchdog saves a
hanging input as ``hang-<sha1>`` under the same prefix and ends the process with status 70.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
from typing import Optional

import atheris

with atheris.instrument_imports():
    from stoq import Stoq
    from stoq.serialize import dumps

#: Deadline for one plugin call inside the engine. Instrumented code runs several times slower,
#: and a campaign may run at low priority on a busy machine: dotnet took 1.3 s of CPU on a
#: 450 KB assembly uninstrumented and passed a 10 s deadline under those conditions. 60 s is
#: far above any honest parse and still short of a run's budget.
PLUGIN_TIMEOUT = 60
#: One input running longer than this is a hang the engine failed to stop (e.g. in native code).
HANG_SECONDS = 2 * PLUGIN_TIMEOUT


class Watchdog:
    """Saves the running input and exits when one input outlives ``HANG_SECONDS``.

    A thread, not a signal: it fires even while the main thread is stuck in native code.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.current: Optional[bytes] = None
        self.started = 0.0
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(1)
            data, started = self.current, self.started
            if data is not None and time.monotonic() - started > HANG_SECONDS:
                name = f"{self.prefix}hang-{hashlib.sha1(data).hexdigest()}"
                with open(name, "wb") as handle:
                    handle.write(data)
                sys.stderr.write(
                    f"==stoq-fuzz== hang past {HANG_SECONDS} s; input saved to {name}\n"
                )
                sys.stderr.flush()
                os._exit(70)


def _artifact_prefix(argv: list) -> str:
    for arg in argv:
        if arg.startswith("-artifact_prefix="):
            return arg.split("=", 1)[1]
    return "./"


def _no_constants(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def main() -> None:
    plugin = sys.argv.pop(1)
    logging.disable(logging.CRITICAL)  # plugin errors are expected; only findings matter
    stoq = Stoq(
        profile=None,
        plugin_opts={plugin: {"timeout": PLUGIN_TIMEOUT}},
        max_recursion=0,
        max_payload_size=64 * 1024 * 1024,
    )
    stoq.load_plugin(plugin)  # a plugin that cannot load is a setup failure, not a finding
    # Instrument the plugin's own code and the libraries it has imported by now.
    atheris.instrument_all()

    watchdog = Watchdog(_artifact_prefix(sys.argv))

    def one_input(data: bytes) -> None:
        watchdog.started, watchdog.current = time.monotonic(), data
        response = stoq.scan(data, add_start_dispatch=[plugin])
        watchdog.current = None
        text = dumps(response)
        text.encode("utf-8")  # strict: a lone surrogate raises
        json.loads(text, parse_constant=_no_constants)
        for error in response.errors:
            ran_out = error.stage == "limit" and error.error.startswith("MemoryError")
            if error.plugin_name == plugin and (error.stage == "timeout" or ran_out):
                raise RuntimeError(f"{plugin}: {error.stage}: {error.error}")

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
