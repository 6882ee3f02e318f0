"""The ``iso`` stoQ plugin: members of ISO 9660 images (Joliet, Rock Ridge) extracted.

ISO images are a common phishing container: mail gateways pass them, and Windows opens them
with a double click. The image is read by ``image`` (standard library only); each file is
extracted as a child payload named by its path in the image, within the count and size bounds.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .image import SECTOR, read_volume, walk

__all__ = ["IsoPlugin"]


class IsoPlugin(WorkerPlugin):
    """Lists an ISO image's tree and extracts its files (bounded count, size and depth)."""

    #: Typed defaults; a config file's [plugins.iso] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_members": 1000,
        "max_size": 256 * 1024 * 1024,
        "max_total": 1024 * 1024 * 1024,
        "max_depth": 32,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Read the volume descriptors, walk the tree, extract each file that fits the bounds."""
        image, opts = payload.content, self.plugin_opts
        try:
            volume = read_volume(image)
        except ValueError as exc:
            return WorkerResponse(errors=[f"not an ISO 9660 image: {exc}"])
        members: List[Dict[str, Any]] = []
        skipped: List[Dict[str, Any]] = []
        problems: List[str] = []
        extracted: List[ExtractedPayload] = []
        total = 0
        for entry in walk(image, volume, opts["max_members"], opts["max_depth"]):
            problems += [f"{entry.path}: {problem}" for problem in entry.problems]
            if entry.is_dir:
                continue
            start = entry.extent * SECTOR
            reason = None
            if start + entry.size > len(image):
                reason = "runs past the end of the image (truncated)"
            elif entry.size > opts["max_size"]:
                reason = "larger than max_size"
            elif total + entry.size > opts["max_total"]:
                reason = "max_total reached"
            members.append({"path": entry.path, "size": entry.size, "extracted": reason is None})
            if reason is not None:
                skipped.append({"path": entry.path, "reason": reason})
                continue
            total += entry.size
            meta = PayloadMeta(
                extra_data={"filename": entry.path.rsplit("/", 1)[-1], "path": entry.path}
            )
            extracted.append(ExtractedPayload(image[start : start + entry.size], meta))
        results = {
            "volume": {
                "volume_id": volume.volume_id,
                "system_id": volume.system_id,
                "joliet": volume.joliet,
            },
            "members": members,
            "skipped": skipped,
            "problems": problems,
        }
        return WorkerResponse(results, extracted=extracted)
