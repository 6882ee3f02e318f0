"""An archiver and connector in one class, written the way v2's filedir was."""

import os
from configparser import ConfigParser
from typing import Dict, Optional

from stoq import ArchiverResponse, Payload, PayloadMeta, RequestMeta, StoqResponse
from stoq import helpers
from stoq.exceptions import StoqPluginException
from stoq.plugins import ArchiverPlugin, ConnectorPlugin


class V2Filestore(ArchiverPlugin, ConnectorPlugin):
    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict]) -> None:
        super().__init__(config, plugin_opts)
        self.archive_dir = config.get('options', 'archive_dir', fallback=None)
        self.results_dir = config.get('options', 'results_dir', fallback=None)
        if plugin_opts:
            self.archive_dir = plugin_opts.get('archive_dir', self.archive_dir)
            self.results_dir = plugin_opts.get('results_dir', self.results_dir)

    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        if not self.archive_dir:
            raise StoqPluginException('archive_dir is not set')
        path = os.path.join(self.archive_dir, helpers.get_sha1(payload.content))
        with open(path, 'wb') as f:
            f.write(payload.content)
        return ArchiverResponse({'path': path})

    def get(self, task: ArchiverResponse) -> Payload:
        with open(task.results['path'], 'rb') as f:
            return Payload(f.read(), PayloadMeta(extra_data=task.results))

    def save(self, response: StoqResponse) -> None:
        if not self.results_dir:
            raise StoqPluginException('results_dir is not set')
        path = os.path.join(self.results_dir, response.scan_id)
        with open(path, 'w') as f:
            f.write(helpers.dumps(response, compactly=True))
