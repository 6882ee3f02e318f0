"""The ``ole`` stoQ plugin: what an OLE2 compound file holds, and the files packaged inside it."""

from __future__ import annotations

import io
import logging
from typing import Any, ClassVar, Dict, List, Optional

import olefile

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .clsids import clsid_name
from .decrypt import DEFAULT_PASSWORDS, decrypt, is_encrypted
from .metadata import check_property_streams, read_metadata
from .native import parse_native

__all__ = ["OlePlugin"]

log = logging.getLogger(__name__)

NOT_OLE = "not an OLE2 compound file"
#: The stream an OLE Package object (any file, run on double click) keeps its file in.
NATIVE_STREAM = "\x01ole10native"


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _clsid(clsid: str) -> Dict[str, Any]:
    """``clsid`` and, when the table knows it, ``clsid_name`` (e.g. the Equation Editor)."""
    if not clsid or clsid == "00000000-0000-0000-0000-000000000000":
        return {}
    name = clsid_name(clsid)
    return {"clsid": clsid, "clsid_name": name} if name else {"clsid": clsid}


class OlePlugin(WorkerPlugin):
    """Lists the streams and storages of an OLE2 file (legacy Office, MSI, Outlook .msg, a
    ``vbaProject.bin``) with their CLSIDs, reports its summary metadata and whether it is an
    encrypted document, and extracts the files of embedded OLE Package objects with their names.
    """

    #: Typed defaults; a config file's [plugins.ole] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_entries": 1000,
        "max_packages": 100,
        "max_package_size": 64 * 1024 * 1024,
        "passwords": list(DEFAULT_PASSWORDS),
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Open the file in memory; anything it cannot read becomes an ``error`` field."""
        content = payload.content
        if not olefile.isOleFile(io.BytesIO(content)):
            return WorkerResponse({"error": NOT_OLE})
        try:
            ole = olefile.OleFileIO(io.BytesIO(content))
        except Exception as exc:  # olefile raises OSError, struct.error, IndexError, ...
            log.debug("ole: cannot open payload %s", payload.payload_id, exc_info=True)
            error = f"cannot parse: {_describe(exc)}"
            return WorkerResponse({"error": error}, errors=[error])
        with ole:
            results: Dict[str, Any] = {**_clsid(ole.root.clsid)}
            errors: List[str] = []
            extracted: List[ExtractedPayload] = []
            for name, step in (
                ("entries", lambda o: self._entries(o, results)),
                ("metadata", read_metadata),
                ("encrypted", lambda o: _encrypted(content, o)),
                ("packages", lambda o: self._packages(o, extracted, results)),
            ):
                try:
                    results[name] = step(ole)
                except Exception as exc:  # one damaged structure; the rest still reported
                    log.debug("ole: %s failed", name, exc_info=True)
                    errors.append(f"{name}: {_describe(exc)}")
        if results.get("encrypted") and self.plugin_opts["passwords"]:
            extracted.extend(self._decrypted(content, payload, results))
        if errors:
            results["errors"] = errors
        return WorkerResponse(results, extracted, errors)

    def _decrypted(
        self, content: bytes, payload: Payload, results: Dict[str, Any]
    ) -> List[ExtractedPayload]:
        """The document decrypted with a well-known password, as a child; or why not."""
        passwords = [str(p) for p in self.plugin_opts["passwords"]]
        plain, password = decrypt(content, passwords)
        if plain is None:
            results["decryption"] = f"none of {len(passwords)} passwords decrypts it"
            return []
        results["decryption"] = {"password": password, "size": len(plain)}
        meta: Dict[str, Any] = {"decrypted_with": password}
        if payload.payload_meta.extra_data.get("filename"):
            meta["filename"] = payload.payload_meta.extra_data["filename"]
        return [ExtractedPayload(plain, PayloadMeta(extra_data=meta))]

    def _entries(self, ole: olefile.OleFileIO, results: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Streams (with sizes) and storages (with CLSIDs), within ``max_entries``."""
        entries: List[Dict[str, Any]] = []
        listing = ole.listdir(streams=True, storages=True)
        limit = self.plugin_opts["max_entries"]
        if len(listing) > limit:
            results.setdefault("limits_hit", []).append(
                f"max_entries {limit}: {len(listing) - limit} more entries not listed"
            )
        for parts in listing[:limit]:
            entry: Dict[str, Any] = {"path": "/".join(parts)}
            if ole.get_type(parts) == olefile.STGTY_STORAGE:
                entry.update(type="storage", **_clsid(ole.getclsid(parts)))
            else:
                entry.update(type="stream", size=ole.get_size(parts))
            entries.append(entry)
        return entries

    def _packages(
        self, ole: olefile.OleFileIO, extracted: List[ExtractedPayload], results: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Each OLE Package object: its names and size; its file extracted within the limits."""
        max_count = self.plugin_opts["max_packages"]
        max_size = self.plugin_opts["max_package_size"]
        packages: List[Dict[str, Any]] = []
        for parts in ole.listdir(streams=True, storages=False):
            if parts[-1].lower() != NATIVE_STREAM:
                continue
            path = "/".join(parts)
            entry: Dict[str, Any] = {"stream": path}
            packages.append(entry)
            if ole.get_size(parts) > max_size + 4096:  # the header is a few hundred bytes
                entry["skipped"] = "max_package_size"
            elif len(extracted) >= max_count:
                entry["skipped"] = "max_packages"
            else:
                try:
                    native = parse_native(ole.openstream(parts).read())
                except Exception as exc:  # olefile cannot read the stream, or it is no package
                    # record (parse_native's ValueError names the field)
                    log.debug("ole: cannot parse %s", path, exc_info=True)
                    entry["error"] = _describe(exc)
                    continue
                entry.update(
                    filename=native.filename,
                    source_path=native.src_path,
                    temp_path=native.temp_path,
                    size=len(native.data),
                    linked=native.is_link,
                )
                if len(native.data) > max_size:
                    entry["skipped"] = "max_package_size"
                elif native.data:
                    meta = {k: entry[k] for k in ("filename", "source_path", "temp_path")}
                    extracted.append(ExtractedPayload(native.data, PayloadMeta(extra_data=meta)))
            if "skipped" in entry:
                results.setdefault("limits_hit", []).append(
                    f"{entry['skipped']}: {path} not extracted"
                )
        return packages


def _encrypted(content: bytes, ole: olefile.OleFileIO) -> bool:
    """Whether the document is encrypted, once the summary properties the check may read are
    known not to be a bomb."""
    check_property_streams(ole, ["\x05SummaryInformation"])
    return is_encrypted(content, ole)
