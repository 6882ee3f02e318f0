"""Where the extraction benchmark's time goes: each stage measured alone, per archive member.

Prints microseconds per member for a bare zipfile read, the bare read + hash baseline, the
decompress plugin on its own, and stoQ with and without a worker on the members.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import time
import zipfile
from typing import Callable

from extraction import ALGORITHMS, make_zip


def per_member(run: Callable[[], object], members: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best / members * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10000)
    members = parser.parse_args().members
    from stoq import Payload, RequestMeta, Stoq

    data = make_zip(members, 256)

    def bare_read() -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                archive.read(info)

    def bare_read_hash() -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                content = archive.read(info)
                {name: hashlib.new(name, content).hexdigest() for name in ALGORITHMS}

    options = {"max_members": members + 1}
    limits = {"max_payloads": members + 5}
    no_workers = Stoq(plugin_opts={"decompress": options}, **limits)
    # Loaded by the engine: a bare DecompressPlugin(...) would lack its typed defaults.
    plugin = no_workers.load_plugin("decompress")
    payload, request = Payload(data), RequestMeta()
    with_hash = Stoq(
        always_dispatch=["hash"],
        plugin_opts={"decompress": options, "hash": {"algorithms": ALGORITHMS}},
        **limits,
    )
    stages = [
        ("bare zipfile read", bare_read),
        ("bare read + hash (the extraction baseline)", bare_read_hash),
        ("decompress plugin alone", lambda: plugin.scan(payload, request)),
        (
            "stoQ: decompress, no worker on members",
            lambda: no_workers.scan(data, add_start_dispatch=["decompress"]),
        ),
        (
            "stoQ: decompress + hash",
            lambda: with_hash.scan(data, add_start_dispatch=["decompress"]),
        ),
    ]
    for name, run in stages:
        print(f"extraction stage: {per_member(run, members):6.1f} us/member  {name}")


if __name__ == "__main__":
    main()
