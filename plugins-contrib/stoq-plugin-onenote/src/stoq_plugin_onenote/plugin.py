"""The ``onenote`` stoQ plugin: files embedded in OneNote sections, extracted."""

from __future__ import annotations

import logging
import re
import struct
from typing import Any, ClassVar, Dict, List, Optional

from one_extract import OneNoteExtractor, OneNoteExtractorError
from one_extract.one import EMBEDDED_FILE_MAGIC, HEADER

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

__all__ = ["OnenotePlugin"]

log = logging.getLogger(__name__)

NOT_ONENOTE = "not a OneNote section (no .one file header)"
#: The size field of a FileDataStoreObject, 16 bytes after its GUID.
_SIZE_OFFSET = 16


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class OnenotePlugin(WorkerPlugin):
    """Extracts the files embedded in a OneNote section (the ``FileDataStoreObject``s that
    carry attachments and images: the way OneNote phishing hands over scripts and executables)
    and lists the page titles with their dates. Password-protected sections are opened with
    the ``password`` option.
    """

    #: Typed defaults; a config file's [plugins.onenote] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "password": "",
        "max_files": 100,
        "max_file_size": 64 * 1024 * 1024,
        "max_titles": 100,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Walk the section with one-extract; a section it cannot read gives ``error``."""
        content = payload.content
        if not content.startswith(HEADER):
            return WorkerResponse({"error": NOT_ONENOTE})
        try:
            document = OneNoteExtractor(content, password=self.plugin_opts["password"] or None)
        except OneNoteExtractorError as exc:
            encrypted = "password" in str(exc).lower()
            error = f"cannot open: {_describe(exc)}" if not encrypted else "password protected"
            return WorkerResponse({"encrypted": encrypted, "error": error}, errors=[error])
        results: Dict[str, Any] = {"encrypted": document.enc_info is not None}
        errors: List[str] = []
        try:
            results["titles"] = self._titles(document)
        except Exception as exc:  # metadata is a nicety: the files still come
            log.debug("onenote: titles failed", exc_info=True)
            errors.append(f"titles: {_describe(exc)}")
        extracted: List[ExtractedPayload] = []
        try:
            results["files"] = self._files(document, content, extracted, results, errors)
        except Exception as exc:  # decryption or a damaged object
            log.debug("onenote: files failed", exc_info=True)
            errors.append(f"files: {_describe(exc)}")
        if errors:
            results["errors"] = errors
        return WorkerResponse(results, extracted, errors)

    def _titles(self, document: OneNoteExtractor) -> List[Dict[str, Any]]:
        titles: List[Dict[str, Any]] = []
        for meta in document.extract_meta():
            if len(titles) >= self.plugin_opts["max_titles"]:
                break
            found = meta.to_dict()
            if found.get("title"):
                titles.append(
                    {
                        "title": found["title"],
                        "offset": found["offset"],
                        "created": found["creation_date"],
                        "modified": found["last_modification_date"],
                    }
                )
        return titles

    def _files(
        self,
        document: OneNoteExtractor,
        content: bytes,
        extracted: List[ExtractedPayload],
        results: Dict[str, Any],
        errors: List[str],
    ) -> List[Dict[str, Any]]:
        """Each embedded file: offset, declared and actual size; extracted within the limits."""
        max_count = self.plugin_opts["max_files"]
        max_size = self.plugin_opts["max_file_size"]
        offsets = [m.start() for m in re.finditer(re.escape(EMBEDDED_FILE_MAGIC), content)]
        files: List[Dict[str, Any]] = []
        limits_hit: List[str] = []
        blobs = list(document.extract_files())  # one-extract stops, logged, at a broken one
        errors.extend(
            f"file at offset {offset} could not be read" for offset in offsets[len(blobs) :]
        )
        for index, (offset, blob) in enumerate(zip(offsets, blobs)):
            size_field = content[offset + _SIZE_OFFSET : offset + _SIZE_OFFSET + 4].ljust(4, b"\0")
            (declared,) = struct.unpack("<I", size_field)
            entry: Dict[str, Any] = {"index": index, "offset": offset, "size": len(blob)}
            if len(blob) < declared:
                entry.update(declared_size=declared, truncated=True)
            if len(extracted) >= max_count:
                entry["skipped"] = "max_files"
            elif len(blob) > max_size:
                entry["skipped"] = "max_file_size"
            elif blob:
                meta = {"index": index, "offset": offset, "truncated": bool(entry.get("truncated"))}
                extracted.append(ExtractedPayload(bytes(blob), PayloadMeta(extra_data=meta)))
            if "skipped" in entry:
                limits_hit.append(f"{entry['skipped']}: file at offset {offset} not extracted")
            files.append(entry)
        if limits_hit:
            results["limits_hit"] = limits_hit
        return files
