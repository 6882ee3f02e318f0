"""The ``rtf`` stoQ plugin: objects embedded in RTF documents, the packaged files extracted."""

from __future__ import annotations

import io
import logging
import re
from typing import Any, ClassVar, Dict, Iterable, List, Optional, Tuple

import olefile

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin
from stoq_plugin_ole.clsids import clsid_name
from stoq_plugin_ole.native import parse_native

from .objdata import ObjData, find_objdata
from .ole1 import parse_ole1

__all__ = ["OBJCLASS", "RtfPlugin"]

log = logging.getLogger(__name__)

NOT_RTF = "not an RTF document (no {\\rt at the start)"
#: ``{\*\objclass Name}``: the class a document declares for an object, even when its data is
#: obfuscated past parsing (the Equation Editor exploits often are).
OBJCLASS = re.compile(rb"\\objclass\s*([^\\{}\s]{1,100})")
#: Class names of the Equation Editor, whose stack overflows (CVE-2017-11882, CVE-2018-0802)
#: are the classic RTF exploit.
EQUATION_CLASSES = ("equation", "mathtype")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
NULL_CLSID = "00000000-0000-0000-0000-000000000000"


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _is_equation(name: Optional[str], clsid_desc: Optional[str]) -> bool:
    return bool(
        (name and name.lower().startswith(EQUATION_CLASSES))
        or (clsid_desc and "equation" in clsid_desc.lower())
    )


class RtfPlugin(WorkerPlugin):
    """Lists the objects of an RTF document (offset, OLE class name, CLSID, sizes), flags
    Equation Editor objects, and extracts each OLE Package's file (with its name) and each
    other OLE object's data as children.
    """

    #: Typed defaults; a config file's [plugins.rtf] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_objects": 100,
        "max_object_size": 64 * 1024 * 1024,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Find the objects; one that cannot be decoded is listed with its ``error``."""
        content = payload.content
        if content.lstrip(b"\r\n\t ")[:4] != b"{\\rt":
            return WorkerResponse({"error": NOT_RTF})
        declared = list(dict.fromkeys(m.decode("latin-1") for m in OBJCLASS.findall(content)))
        results: Dict[str, Any] = {"declared_classes": declared[:100]}
        objects, extracted = self._objects(find_objdata(content), results)
        results["objects"] = objects
        results["equation_editor"] = any(_is_equation(c, None) for c in declared) or any(
            o.get("equation_editor") for o in objects
        )
        return WorkerResponse(results, extracted)

    def _objects(
        self, found: Iterable[ObjData], results: Dict[str, Any]
    ) -> Tuple[List[Dict[str, Any]], List[ExtractedPayload]]:
        max_count = self.plugin_opts["max_objects"]
        max_size = self.plugin_opts["max_object_size"]
        objects: List[Dict[str, Any]] = []
        extracted: List[ExtractedPayload] = []
        limits_hit: List[str] = []
        not_read = 0
        for objdata in found:
            if len(objects) >= max_count:
                not_read += 1
                continue
            entry, content = _describe_object(objdata)
            objects.append(entry)
            if not content:
                continue
            if len(content) > max_size:
                entry["skipped"] = "max_object_size"
                limits_hit.append(
                    f"max_object_size: object at offset {entry['offset']} not extracted"
                )
                continue
            meta = {k: entry[k] for k in ("filename", "source_path", "temp_path") if entry.get(k)}
            meta.update(offset=entry["offset"], class_name=entry.get("class_name"))
            extracted.append(ExtractedPayload(content, PayloadMeta(extra_data=meta)))
        if not_read:
            limits_hit.append(f"max_objects {max_count}: {not_read} more objects not read")
        if limits_hit:
            results["limits_hit"] = limits_hit
        return objects, extracted


def _describe_object(objdata: ObjData) -> Tuple[Dict[str, Any], bytes]:
    """One object, JSON-ready, and the bytes to extract (the package's file, or the OLE
    object's native data; nothing for data that is no OLE 1.0 object)."""
    raw = objdata.data
    entry: Dict[str, Any] = {"offset": objdata.offset, "raw_size": len(raw), "is_ole": False}
    if objdata.unterminated:
        entry["unterminated"] = True
    try:
        obj = parse_ole1(raw)
    except ValueError as exc:  # obfuscated, truncated or not an OLE 1.0 object at all
        entry["error"] = _describe(exc)
        return entry, b""
    entry.update(
        is_ole=True, class_name=obj.class_name, format_id=obj.format_id, ole_size=obj.native_size
    )
    if obj.class_name.lower() == "package":
        try:
            package = parse_native(obj.native, sized=False)
        except ValueError as exc:
            entry.update(equation_editor=False, error=f"package: {_describe(exc)}")
            return entry, obj.native
        entry.update(
            equation_editor=False,
            package=True,
            filename=package.filename,
            source_path=package.src_path,
            temp_path=package.temp_path,
            size=len(package.data),
        )
        return entry, package.data
    name = None
    if obj.native.startswith(OLE2_MAGIC):
        try:
            with olefile.OleFileIO(io.BytesIO(obj.native)) as ole:
                clsid = ole.root.clsid
        except Exception as exc:  # olefile raises OSError, struct.error, IndexError, ...
            log.debug("rtf: cannot open the OLE2 data at %d", objdata.offset, exc_info=True)
            entry["error"] = f"clsid: {_describe(exc)}"
        else:
            if clsid and clsid != NULL_CLSID:
                name = clsid_name(clsid)
                entry.update(clsid=clsid, clsid_name=name)
    entry["equation_editor"] = _is_equation(obj.class_name, name)
    return entry, obj.native
