"""A provider written the v2 way: options from the .stoq file, overridden by plugin_opts."""

import os
from configparser import ConfigParser
from queue import Queue
from typing import Dict, Optional

from stoq import Payload, PayloadMeta
from stoq.exceptions import StoqPluginException
from stoq.plugins import ProviderPlugin


class V2Provider(ProviderPlugin):
    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict]) -> None:
        super().__init__(config, plugin_opts)
        self.source_dir = config.get('options', 'source_dir', fallback=None)
        if plugin_opts and plugin_opts.get('source_dir'):
            self.source_dir = plugin_opts['source_dir']
        self.via_archiver = config.get('options', 'via_archiver', fallback=None)

    def ingest(self, queue: Queue) -> None:
        if not self.source_dir:
            raise StoqPluginException('source_dir is not set')
        for name in sorted(os.listdir(self.source_dir)):
            path = os.path.join(self.source_dir, name)
            if self.via_archiver:
                queue.put({self.via_archiver: {'path': path}})
                continue
            with open(path, 'rb') as f:
                queue.put(Payload(f.read(), PayloadMeta(extra_data={'filename': name})))
