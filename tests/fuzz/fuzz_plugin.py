"""Coverage-guided fuzzing (atheris) of one plugin's ``scan()`` through the engine.

    python tests/fuzz/fuzz_plugin.py PLUGIN [libFuzzer options] CORPUS_DIR [SEED_DIR ...]

Each input is scanned as one request with only PLUGIN as the start dispatch, under the
engine's failure boundary, deadlines and limits, exactly as ``stoq scan`` would. The plugin
raising, timing out or returning garbage is *not* a finding: the engine turns those into an
``Error`` in the response, which is its job. A finding is what breaks that promise:

- an exception escaping ``Stoq.scan`` or the serialisation of its response;
- output that is not valid, strict UTF-8 JSON (no NaN/Infinity, no lone surrogates);
- a hang past the deadline (libFuzzer's ``-timeout``) or memory past the cap (``-rss_limit_mb``);
- the engine's ``timeout`` error for the plugin, or its ``limit`` error for a ``MemoryError``: it
  hung past ``PLUGIN_TIMEOUT`` or ran out of memory, which the engine contained but which is still the plugin's bug.

libFuzzer saves the input of each finding (``-artifact_prefix``) and stops.
"""

from __future__ import annotations

import json
import logging
import sys

import atheris

with atheris.instrument_imports():
    from stoq import Stoq
    from stoq.serialize import dumps

#: Deadline for one plugin call inside the engine; libFuzzer's -timeout must be above it.
PLUGIN_TIMEOUT = 10


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

    def one_input(data: bytes) -> None:
        response = stoq.scan(data, add_start_dispatch=[plugin])
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
