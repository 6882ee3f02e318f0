from typing import Optional

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin


class FolderWorker(WorkerPlugin):
    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        greeting = self.config.get("options", "greeting")
        return WorkerResponse({"greeting": greeting, "version": self.__version__})
