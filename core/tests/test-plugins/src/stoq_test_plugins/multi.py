"""A plugin serving several roles from one instance, and a connector that fails."""

from queue import Queue
from typing import Any, List, Optional

from stoq.data_classes import (
    ArchiverResponse,
    DecoratorResponse,
    Payload,
    RequestMeta,
    StoqResponse,
    WorkerResponse,
)
from stoq.plugins import (
    ArchiverPlugin,
    ConnectorPlugin,
    DecoratorPlugin,
    ProviderPlugin,
    WorkerPlugin,
)


class MultiRole(ProviderPlugin, WorkerPlugin, ArchiverPlugin, ConnectorPlugin, DecoratorPlugin):
    """Provides ``items`` (option) payloads, archives into memory, saves responses in memory."""

    def __init__(self, config, plugin_opts) -> None:
        super().__init__(config, plugin_opts)
        self.archived: dict = {}
        self.saved: List[StoqResponse] = []
        self.events: List[str] = []

    def start(self) -> None:
        self.events.append("start")

    def stop(self) -> None:
        self.events.append("stop")

    def ingest(self, queue: Queue) -> None:
        for item in self.plugin_opts.get("items", []):
            if isinstance(item, str) and item.startswith("task:"):
                queue.put({"multi_role": item[5:]})
            else:
                queue.put(Payload(str(item).encode()))

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"instance": id(self)})

    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        self.archived[payload.sha256] = payload.content
        return ArchiverResponse({"key": payload.sha256})

    def get(self, task: Any) -> Optional[Payload]:
        return Payload(f"from archive: {task}".encode())

    def save(self, response: StoqResponse) -> None:
        self.saved.append(response)

    def decorate(self, response: StoqResponse) -> Optional[DecoratorResponse]:
        return DecoratorResponse({"payloads": len(response.results), "instance": id(self)})


class FailingConnector(ConnectorPlugin):
    """Raises on every save."""

    def save(self, response: StoqResponse) -> None:
        raise OSError("disk full")


class FileConnector(ConnectorPlugin):
    """Appends each response as one JSON line to the file in its ``path`` option."""

    def save(self, response: StoqResponse) -> None:
        with open(self.plugin_opts["path"], "a", encoding="utf-8") as handle:
            handle.write(str(response) + "\n")
