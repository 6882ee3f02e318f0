"""A worker written the v2 way: stoq.helpers for hashes, ExtractedPayload for the parts."""

from configparser import ConfigParser
from typing import Dict, Optional

from stoq import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq import helpers
from stoq.plugins import WorkerPlugin


class V2Hasher(WorkerPlugin):
    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict]) -> None:
        super().__init__(config, plugin_opts)
        self.separator = config.get('options', 'separator', fallback='|').encode()

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        results = {
            'md5': helpers.get_md5(payload.content),
            'sha1': helpers.get_sha1(payload.content),
            'sha256': helpers.get_sha256(payload.content),
            'sha512': helpers.get_sha512(payload.content),
        }
        extracted = []
        errors = []
        parts = payload.content.split(self.separator)
        if len(parts) > 1:
            for index, part in enumerate(parts):
                if not part:
                    errors.append(f'part {index} is empty')
                    continue
                meta = PayloadMeta(extra_data={'index': index})
                extracted.append(ExtractedPayload(part, meta))
        return WorkerResponse(results, extracted=extracted, errors=errors)
