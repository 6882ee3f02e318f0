"""The ``elf`` worker: what kind of ELF file a payload is, what it loads, and how it is laid out."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Dict, Optional

import lief

from stoq.data_classes import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .describe import describe

__all__ = ["ElfPlugin"]

_MAGIC = b"\x7fELF"


class ElfPlugin(WorkerPlugin):
    """Class, machine, type, interpreter, needed libraries, sections, segments, symbols, hints.

    Content without the ELF magic is another format: nothing to report (``None``). Content
    with it whose header LIEF cannot read gives one error and no results.
    """

    #: Typed defaults; a config file's [plugins.elf] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_symbols": 2000,
        "max_sections": 1000,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        content = payload.content
        if not content.startswith(_MAGIC):
            return None
        lief.logging.disable()
        with warnings.catch_warnings():
            # LIEF warns for each enum value a hostile header makes up; they are reported as-is.
            warnings.simplefilter("ignore", RuntimeWarning)
            binary = lief.ELF.parse(content)
            if binary is None or binary.header.identity_class == lief.ELF.Header.CLASS.NONE:
                return WorkerResponse(errors=["damaged ELF header: LIEF cannot read it"])
            results = describe(
                binary, content, self.plugin_opts["max_symbols"], self.plugin_opts["max_sections"]
            )
        return WorkerResponse(results)
