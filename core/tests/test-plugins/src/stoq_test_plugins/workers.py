"""Workers with one behaviour each, for the engine's tests."""

import os
import time
from typing import Optional

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin


class SimpleWorker(WorkerPlugin):
    """Reports the payload's size."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"size": len(payload.content)})


class SecondWorker(SimpleWorker):
    """Same as simple_worker under another name."""


class RaiseWorker(WorkerPlugin):
    """Always raises."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        raise RuntimeError("raise_worker always fails\nsecond line")


class SleepWorker(WorkerPlugin):
    """Sleeps ``seconds`` (option, default 30) in short steps, as Python code does."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        end = time.monotonic() + float(self.plugin_opts.get("seconds", 30))
        while time.monotonic() < end:
            time.sleep(0.01)
        return WorkerResponse({"slept": True})


class BadReturnWorker(WorkerPlugin):
    """Returns something that is not a WorkerResponse."""

    def scan(self, payload: Payload, request_meta: RequestMeta):  # type: ignore[override]
        return {"not": "a response"}


class ExtractWorker(WorkerPlugin):
    """Extracts each line of the payload as a child (``count`` copies with a counter if set)."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        count = int(self.plugin_opts.get("count", 0))
        if count:
            children = [b"child %d of %s" % (i, payload.sha256.encode()) for i in range(count)]
        else:
            children = [line for line in payload.content.split(b"\n") if line][1:]
        dispatch = self.plugin_opts.get("dispatch_to", [])
        extracted = [
            ExtractedPayload(c, PayloadMeta(extra_data={"index": i}, dispatch_to=list(dispatch)))
            for i, c in enumerate(children)
        ]
        return WorkerResponse({"children": len(extracted)}, extracted=extracted)


class SelfExtractWorker(WorkerPlugin):
    """Extracts a child identical to its parent (an archive quine)."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"ok": 1}, extracted=[ExtractedPayload(payload.content)])


class OptionsWorker(WorkerPlugin):
    """Reports its typed plugin_opts and the text ConfigParser view of them."""

    DEFAULT_OPTIONS = {"colour": "blue", "level": 1, "pattern": "100%"}

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse(
            {
                "plugin_opts": dict(self.plugin_opts),
                "config": dict(self.config.items("options")),
            }
        )


class CrashWorker(WorkerPlugin):
    """Kills its own process (SIGKILL) when the payload starts with b"crash"."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        if payload.content.startswith(b"crash"):
            import os
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        return WorkerResponse({"pid": __import__("os").getpid()})


class StuckWorker(WorkerPlugin):
    """Blocks in one C call (``time.sleep``) that no Python-level timeout can interrupt."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        time.sleep(float(self.plugin_opts.get("seconds", 600)))
        return WorkerResponse({"woke": True})


class HogWorker(WorkerPlugin):
    """Allocates memory without bound when the payload starts with b"hog"."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        chunks = []
        while payload.content.startswith(b"hog"):
            chunks.append(bytearray(64 * 1024 * 1024))
        return WorkerResponse({"pid": __import__("os").getpid()})


class StartPidWorker(WorkerPlugin):
    """Reports the process that started it and the process scanning (a consumer's own)."""

    def start(self) -> None:
        self.started_in = os.getpid()

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"started_in": self.started_in, "pid": os.getpid()})


class ForkSafeWorker(StartPidWorker):
    """The same, declared fork-safe: forked consumers adopt the instance their parent started."""

    fork_safe = True
