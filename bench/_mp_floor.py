"""The bare multiprocessing loop the scaling benchmark compares with (run as its own process).

``python _mp_floor.py FOLDER PROCESSES``: a ``multiprocessing`` pool (forked) reads every file,
does the default profile's analysis on it and sends the JSON back; the parent writes each line
to standard output, as `stoq scan --jsonl` does.

The analysis is the default profile's own plugins called directly, the plain way: the always
workers, the yara dispatcher's choice, the results deep dispatcher's choice (in rounds, each
worker once per payload, as stoQ runs them), the summary left out, one JSON response with the
floor's shape (bench/_floor.py). There is no engine: no deadlines, no error boundary, no
timings, no limits. The plugins are built once in the parent before the pool forks and warmed
up on the first file (stoQ runs each plugin's ``preload`` before it forks). So the per-file
work is the same as stoQ's and a speed-up measured on it is a fair yardstick for stoQ's (a
floor that only hashed did so little per file that starting a second process cost more than
it saved).
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

from _floor import DEFAULT_ALGORITHMS, digests, dumps, new_id, result

#: One payload's analysis: the plugins' results by name, the contents they extracted, and the
#: dispatchers' and the deep dispatchers' meta by name (a response's dispatch_meta and
#: deep_dispatch_meta: why each worker ran).
Analysis = Tuple[Dict[str, Any], List[bytes], Dict[str, Any], Dict[str, Any]]


def build_analysis() -> Callable[[bytes], Analysis]:
    """The default profile's plugins, loaded once; returns what one payload's analysis does."""
    from stoq import Payload, RequestMeta, Stoq

    stoq = Stoq(profile="default")
    always = [name for name in stoq.always_dispatch if name != "hash"]
    loaded: Dict[str, Any] = {}

    def plugin(name: str) -> Any:
        if name not in loaded:
            loaded[name] = stoq.load_plugin(name)
        return loaded[name]

    def chosen(response: Any) -> List[str]:
        """A dispatcher's choice: the names it requires, and those of its optional routes
        (``if_installed``) that are installed, as stoQ takes them."""
        optional = [n for n in response.if_installed if stoq.plugins.is_available(n)]
        return response.plugin_names + optional

    dispatchers = [(name, plugin(name)) for name in stoq.dispatchers]
    deep_dispatchers = [(name, plugin(name)) for name in stoq.deep_dispatchers]
    for name in always:
        plugin(name)

    def run(
        names: List[str], payload: Any, meta: Any, into: Dict[str, Any], found: List[bytes]
    ) -> None:
        for name in names:
            response = plugin(name).scan(payload, meta)
            if response is not None:
                into[name] = response.results
                found += [child.content for child in response.extracted]

    def analyse(content: bytes) -> Analysis:
        payload, meta = Payload(content), RequestMeta()
        names = list(always)
        for name, dispatcher in dispatchers:
            response = dispatcher.get_dispatches(payload, meta)
            if response is not None:
                names += [n for n in chosen(response) if n not in names]
                if response.meta:
                    payload.dispatch_meta.setdefault(name, {}).update(response.meta)
        found: List[bytes] = []
        run(names, payload, meta, payload.worker_results[0], found)
        while True:  # deep dispatch rounds, each running only workers that have not run
            wanted: List[str] = []
            for name, deep in deep_dispatchers:
                response = deep.get_deep_dispatches(payload, meta)
                if response is not None:
                    wanted += [n for n in chosen(response) if n not in names and n not in wanted]
                    if response.meta:
                        payload.deep_dispatch_meta.setdefault(name, {}).update(response.meta)
            if not wanted:
                workers = {k: v for round_ in payload.worker_results for k, v in round_.items()}
                return workers, found, payload.dispatch_meta, payload.deep_dispatch_meta
            names += wanted
            payload.worker_results.append({})
            run(wanted, payload, meta, payload.worker_results[-1], found)

    return analyse


def work(path: str) -> str:
    content = Path(path).read_bytes()
    hashes = digests(content, DEFAULT_ALGORITHMS)
    workers, _, dispatch_meta, deep_meta = ANALYSE(content)  # random bytes: nothing extracted
    entry = result(content, hashes, workers, meta=(dispatch_meta, deep_meta))
    response = {"scan_id": new_id(), "results": [entry], "errors": []}
    return dumps(response)


ANALYSE: Callable[[bytes], Analysis]


def main() -> None:
    global ANALYSE
    folder, processes = Path(sys.argv[1]), int(sys.argv[2])
    paths = sorted(str(p) for p in folder.iterdir())
    ANALYSE = build_analysis()
    if paths:  # warm up before forking: lazy imports (numpy), first-call set-up
        ANALYSE(Path(paths[0]).read_bytes())
    out = sys.stdout
    if processes == 1:
        for path in paths:
            out.write(work(path) + "\n")
        return
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for line in pool.imap(work, paths, chunksize=4):
            out.write(line + "\n")


if __name__ == "__main__":
    main()
