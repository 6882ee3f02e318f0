"""The ``exif`` worker: who took an image, with what, when and where (EXIF metadata)."""

from __future__ import annotations

import io
import logging
from configparser import ConfigParser
from typing import Any, ClassVar, Dict, Optional

import exifread

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .tags import gps_position, plain, summary

__all__ = ["ExifPlugin"]


class ExifPlugin(WorkerPlugin):
    """Camera, software, dates and GPS position, every tag (bounded), the embedded thumbnail.

    Content without EXIF (including content that is not an image) gives ``None``: nothing to
    report is not a failure.
    """

    #: Typed defaults; a config file's [plugins.exif] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_tags": 500,
        "max_value_length": 512,
        "extract_thumbnail": True,
    }

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        # exifread logs each oddity of a damaged file at warning level: keep that for
        # debugging, unless the application has set that logger's level itself. Once: on
        # every call it cost 0.7 us and undid the application's choice.
        exifread_log = logging.getLogger("exifread")
        if exifread_log.level == logging.NOTSET:
            exifread_log.setLevel(logging.ERROR)

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        options = self.plugin_opts
        found = exifread.process_file(
            io.BytesIO(payload.content), details=False, builtin_types=True
        )
        thumbnail = found.pop("JPEGThumbnail", None) or found.pop("TIFFThumbnail", None)
        if not found:
            return None
        tags = {name: plain(value, options["max_value_length"]) for name, value in found.items()}
        names = list(tags)[: options["max_tags"]]
        results: Dict[str, Any] = {
            **summary(tags),
            "gps": gps_position(tags),
            "tags": {name: tags[name] for name in names},
            "tags_not_listed": len(tags) - len(names),
            "thumbnail_size": len(thumbnail) if thumbnail else 0,
        }
        extracted = []
        if thumbnail and options["extract_thumbnail"]:
            meta = PayloadMeta(extra_data={"exif": "thumbnail"})
            extracted.append(ExtractedPayload(bytes(thumbnail), meta))
        return WorkerResponse(results, extracted=extracted)
