"""The ``fuzzyhash`` worker: similarity hashes, so near-identical files can be found later."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional

import tlsh

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

try:
    from ._spamsum import ssdeep  # compiled from _spamsum.c when a C compiler was there
except ImportError:  # installed without one: the same hashes from numpy, 5-40x slower
    from .spamsum import ssdeep

__all__ = ["FuzzyhashPlugin"]

#: What TLSH gives when the content is too short or too uniform to hash.
_TLSH_NONE = "TNULL"


class FuzzyhashPlugin(WorkerPlugin):
    """ssdeep (context-triggered piecewise hash) and TLSH (locality-sensitive hash).

    ssdeep is computed in C (_spamsum.c; ppdeep's answers, about 5 ms per MiB here; spamsum.py's
    numpy takes 26 ms when the extension was not built), so payloads above
    ``max_ssdeep_size`` get TLSH only, and TLSH (about 8 ms per MiB) stops at
    ``max_tlsh_size``: a 1 GiB disk image would take it 9 s, more than every other default
    plugin together, for a hash nobody compares. What is skipped is said, not silently left out.
    """

    #: Typed defaults; a config file's [plugins.fuzzyhash] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "min_size": 1024,
        "max_ssdeep_size": 8 * 1024 * 1024,
        "max_tlsh_size": 64 * 1024 * 1024,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        content = payload.content
        if len(content) < self.plugin_opts["min_size"]:
            return None
        results: Dict[str, Any] = {"ssdeep": None, "tlsh": None, "skipped": {}}
        if len(content) <= self.plugin_opts["max_ssdeep_size"]:
            results["ssdeep"] = ssdeep(content)
        else:
            results["skipped"]["ssdeep"] = "larger than max_ssdeep_size"
        if len(content) > self.plugin_opts["max_tlsh_size"]:
            results["skipped"]["tlsh"] = "larger than max_tlsh_size"
            return WorkerResponse(results)
        digest = tlsh.hash(content)
        if digest and digest != _TLSH_NONE:
            results["tlsh"] = digest
        else:
            results["skipped"]["tlsh"] = "too little variety in the content for TLSH"
        return WorkerResponse(results)
