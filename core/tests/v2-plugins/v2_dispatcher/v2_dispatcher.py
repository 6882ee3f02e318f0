"""A dispatcher written the v2 way: stoq.data_classes for its response."""

from configparser import ConfigParser
from typing import Dict, Optional

from stoq.data_classes import DispatcherResponse, Payload, RequestMeta
from stoq.plugins import DispatcherPlugin


class V2Dispatcher(DispatcherPlugin):
    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict]) -> None:
        super().__init__(config, plugin_opts)
        self.worker = config.get('options', 'worker')

    def get_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DispatcherResponse]:
        dr = DispatcherResponse()
        dr.plugin_names.append(self.worker)
        dr.meta['size'] = len(payload.content)
        return dr
