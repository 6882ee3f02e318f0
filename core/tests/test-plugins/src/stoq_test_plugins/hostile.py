"""Plugins that misbehave on purpose, one ``mode`` option each, for the failure boundary tests."""

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Optional

from stoq.data_classes import (
    DispatcherResponse,
    Error,
    ExtractedPayload,
    Payload,
    PayloadMeta,
    RequestMeta,
    WorkerResponse,
)
from stoq.plugins import DispatcherPlugin, WorkerPlugin


class _Opaque:
    """A value JSON has no type for, whose ``to_dict`` fails."""

    def to_dict(self) -> Any:
        raise RuntimeError("cannot describe myself")


def _refuse(*_: Any) -> None:
    raise ValueError("cannot be rebuilt here")


class Trap:
    """A value JSON writes as text, which pickles, but whose unpickling raises (here and in
    the tests that put one in a provider's item)."""

    def __reduce__(self) -> Any:
        return (_refuse, ())


class _SlowToDie:
    """Does its work in ``__del__``, where Python prints an exception and carries on."""

    def __del__(self) -> None:
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            pass


def _cycle() -> Any:
    loop: list = []
    loop.append(loop)
    return {"loop": loop}


class HostileWorker(WorkerPlugin):
    """Returns or does what its ``mode`` option says (see ``_MODES``)."""

    DEFAULT_OPTIONS = {"mode": "none", "start_mode": "none", "stop_mode": "none", "pid_file": ""}

    def __init__(self, config: Any, plugin_opts: Optional[dict] = None) -> None:
        super().__init__(config, plugin_opts)
        if self.plugin_opts["start_mode"] == "hang_in_init":
            time.sleep(600)

    def start(self) -> None:
        start_mode = self.plugin_opts["start_mode"]
        if start_mode == "hang":
            time.sleep(600)
        elif start_mode == "two_lines":
            raise RuntimeError("first line\nsecond line")
        elif start_mode == "kill":  # as a native crash while a plugin starts would
            os.kill(os.getpid(), signal.SIGKILL)

    def stop(self) -> None:
        stop_mode = self.plugin_opts["stop_mode"]
        if stop_mode == "hang":
            time.sleep(600)
        elif stop_mode == "exit":
            sys.exit(3)

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        mode = self.plugin_opts["mode"]
        if mode == "bytes_keys":
            return WorkerResponse({b"key\xff": b"value\xfe", "nested": {b"k": 1}})
        if mode == "non_finite":
            return WorkerResponse({"nan": float("nan"), "inf": [float("inf"), float("-inf")]})
        if mode == "cycle":
            return WorkerResponse(_cycle())
        if mode == "opaque":
            return WorkerResponse({"value": _Opaque()})
        if mode == "unpicklable":  # JSON writes it as text; pickle refuses it
            return WorkerResponse({"size": len(payload.content), "handle": threading.Lock()})
        if mode == "unreadable":  # pickles; unpickling (in another process) raises
            return WorkerResponse({"size": len(payload.content), "trap": Trap()})
        if mode == "content_int":
            return WorkerResponse(
                {"ok": 1}, extracted=[ExtractedPayload(5), ExtractedPayload(b"good")]
            )  # type: ignore[arg-type]
        if mode == "meta_text":
            return WorkerResponse({"ok": 1}, extracted=[ExtractedPayload(b"x", "meta")])  # type: ignore[arg-type]
        if mode == "extracted_int":
            return WorkerResponse({"ok": 1}, extracted=7)  # type: ignore[arg-type]
        if mode == "dispatch_to_text":
            meta = PayloadMeta(dispatch_to="simple_worker")  # type: ignore[arg-type]
            return WorkerResponse({"ok": 1}, extracted=[ExtractedPayload(b"child", meta)])
        if mode == "segfault":  # a native crash, as a broken parser's would be
            import ctypes

            ctypes.string_at(0)
        if mode == "exit":
            sys.exit(7)
        if mode == "interrupt":
            raise KeyboardInterrupt
        if mode == "rewrite":
            payload.content = b"something else"  # type: ignore[misc]
        if mode == "print":
            print("plugin chatter on stdout")
        if mode == "limit":
            return WorkerResponse(
                {"members": 1},
                errors=[Error("max_ratio reached: 3 members not extracted", stage="limit")],
            )
        if mode == "swallow":
            end = time.monotonic() + 10
            while time.monotonic() < end:
                try:  # noqa: SIM105 - the hostile part: it swallows every Exception
                    time.sleep(0.01)
                except Exception:  # noqa: BLE001
                    pass
            return WorkerResponse({"ran": "on"})
        if mode == "finalizers":
            for _ in range(400):  # 20 s, nearly all of it inside __del__
                _SlowToDie()
            return WorkerResponse({"ran": "on"})
        if mode == "children":
            child = subprocess.Popen(["sleep", "600"], stdout=sys.stdout, stderr=sys.stderr)
            with open(self.plugin_opts["pid_file"], "w") as handle:
                handle.write(str(child.pid))
            time.sleep(600)
        return WorkerResponse({"mode": mode, "pid": os.getpid()})


class HostileDispatcher(DispatcherPlugin):
    """Returns ``plugin_names`` as one string instead of a list."""

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        return DispatcherResponse("simple_worker")  # type: ignore[arg-type]
