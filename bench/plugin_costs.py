"""Where the default profile's analysis goes, plugin by plugin: the parts side of
default_profile.py (the default profile's plugins called directly, no engine) on the same
corpus, with the CPU time of each plugin method call measured (``thread_time_ns`` around it).

Prints, for each plugin method, CPU per payload, per call and calls per payload, and what is
left (hashing, payloads, JSON); no target. Inside the pipeline a plugin runs slower than alone
(round 12 in bench/README.md): these are its costs there.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any, Callable

from default_profile import make_corpus, parts_scan


def timed(method: Callable[..., Any], name: str, spent: Counter, calls: Counter) -> Callable:
    def call(*args: Any) -> Any:
        started = time.thread_time_ns()
        try:
            return method(*args)
        finally:
            spent[name] += time.thread_time_ns() - started
            calls[name] += 1

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zips", type=int, default=40)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from stoq import Stoq

    spent: Counter = Counter()
    calls: Counter = Counter()
    load_plugin = Stoq.load_plugin

    def loading(self: Stoq, name: str, *more: Any, **options: Any) -> Any:
        plugin = load_plugin(self, name, *more, **options)
        for method in ("scan", "get_dispatches", "get_deep_dispatches"):
            if hasattr(plugin, method):
                setattr(
                    plugin, method, timed(getattr(plugin, method), f"{name}.{method}", spent, calls)
                )
        return plugin

    Stoq.load_plugin = loading  # type: ignore[method-assign]
    from _mp_floor import build_analysis

    analyse = build_analysis()
    corpus = make_corpus(args.zips, args.members)
    for content in corpus:  # warm: rules compiled, numpy imported
        parts_scan(analyse, content)
    spent.clear()
    calls.clear()
    payloads, started = 0, time.thread_time_ns()
    for _ in range(args.rounds):
        payloads += sum(parts_scan(analyse, content) for content in corpus)
    total = time.thread_time_ns() - started
    print(f"plugin costs: {payloads} payloads, the parts {total / payloads / 1e3:.1f} us a payload")
    for name, nanoseconds in spent.most_common():
        print(
            f"plugin costs: {name:32s} {nanoseconds / payloads / 1e3:7.1f} us a payload"
            f" {nanoseconds / calls[name] / 1e3:8.1f} us a call {calls[name] / payloads:5.2f} calls a payload"
        )
    rest = (total - sum(spent.values())) / payloads / 1e3
    print(f"plugin costs: {'the rest (hashes, payloads, JSON)':32s} {rest:7.1f} us a payload")


if __name__ == "__main__":
    main()
