"""A deep dispatcher written the v2 way: it reads the worker results already on the payload."""

from configparser import ConfigParser
from typing import Dict, Optional

from stoq.data_classes import DeepDispatcherResponse, Payload, RequestMeta
from stoq.plugins import DeepDispatcherPlugin


class V2DeepDispatcher(DeepDispatcherPlugin):
    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict]) -> None:
        super().__init__(config, plugin_opts)
        self.then = config.get('options', 'then')

    def get_deep_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DeepDispatcherResponse]:
        ddr = DeepDispatcherResponse()
        hashed = [r['v2_hasher'] for r in payload.worker_results if 'v2_hasher' in r]
        if hashed:
            ddr.plugin_names.append(self.then)
            ddr.meta['md5'] = hashed[0]['md5']
        return ddr
