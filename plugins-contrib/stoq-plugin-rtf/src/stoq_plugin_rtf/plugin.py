"""The ``rtf`` stoQ plugin: objects embedded in RTF documents, the packaged files extracted."""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any, ClassVar, Dict, List, Optional, Tuple

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

with warnings.catch_warnings():  # oletools uses pyparsing names that pyparsing 3.3 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools import rtfobj

__all__ = ["OBJCLASS", "RtfPlugin"]

log = logging.getLogger(__name__)

NOT_RTF = "not an RTF document (no {\\rt at the start)"
#: ``{\*\objclass Name}``: the class a document declares for an object, even when its data is
#: obfuscated past parsing (the Equation Editor exploits often are).
OBJCLASS = re.compile(rb"\\objclass\s*([^\\{}\s]{1,100})")
#: Class names of the Equation Editor, whose stack overflows (CVE-2017-11882, CVE-2018-0802)
#: are the classic RTF exploit.
EQUATION_CLASSES = ("equation", "mathtype")


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("latin-1").rstrip("\x00")
    return str(value)


def _is_equation(name: Optional[str], clsid_desc: Optional[str]) -> bool:
    return bool(
        (name and name.lower().startswith(EQUATION_CLASSES))
        or (clsid_desc and "equation" in clsid_desc.lower())
    )


class RtfPlugin(WorkerPlugin):
    """Lists the objects of an RTF document as oletools' rtfobj finds them (offset, OLE class
    name, CLSID, sizes), flags Equation Editor objects, and extracts each OLE Package's file (with
    its name) and each other OLE object's data as children.
    """

    #: Typed defaults; a config file's [plugins.rtf] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_objects": 100,
        "max_object_size": 64 * 1024 * 1024,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Parse the document; rtfobj skips what it cannot read, so errors are rare."""
        content = payload.content
        if content.lstrip(b"\r\n\t ")[:4] != b"{\\rt":
            return WorkerResponse({"error": NOT_RTF})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                parser = rtfobj.RtfObjParser(content)
                parser.parse()
        except Exception as exc:  # rtfobj raises on some malformed control words
            log.debug("rtf: cannot parse payload %s", payload.payload_id, exc_info=True)
            error = f"cannot parse: {_describe(exc)}"
            return WorkerResponse({"error": error}, errors=[error])
        declared = list(dict.fromkeys(_text(m) or "" for m in OBJCLASS.findall(content)))[:100]
        results: Dict[str, Any] = {"declared_classes": declared}
        objects, extracted = self._objects(parser.objects, results)
        results["objects"] = objects
        results["equation_editor"] = any(_is_equation(c, None) for c in declared) or any(
            o.get("equation_editor") for o in objects
        )
        return WorkerResponse(results, extracted)

    def _objects(
        self, found: List[Any], results: Dict[str, Any]
    ) -> Tuple[List[Dict[str, Any]], List[ExtractedPayload]]:
        max_count = self.plugin_opts["max_objects"]
        max_size = self.plugin_opts["max_object_size"]
        objects: List[Dict[str, Any]] = []
        extracted: List[ExtractedPayload] = []
        limits_hit: List[str] = []
        for obj in found[:max_count]:
            entry = _describe_object(obj)
            objects.append(entry)
            content = obj.olepkgdata if obj.is_package else obj.oledata if obj.is_ole else None
            if not content:
                continue
            if len(extracted) >= max_count:
                entry["skipped"] = "max_objects"
            elif len(content) > max_size:
                entry["skipped"] = "max_object_size"
            else:
                meta = {
                    k: entry[k] for k in ("filename", "source_path", "temp_path") if entry.get(k)
                }
                meta.update(offset=entry["offset"], class_name=entry.get("class_name"))
                extracted.append(ExtractedPayload(bytes(content), PayloadMeta(extra_data=meta)))
            if "skipped" in entry:
                limits_hit.append(
                    f"{entry['skipped']}: object at offset {entry['offset']} not extracted"
                )
        if len(found) > max_count:
            limits_hit.append(
                f"max_objects {max_count}: {len(found) - max_count} more objects not read"
            )
        if limits_hit:
            results["limits_hit"] = limits_hit
        return objects, extracted


def _describe_object(obj: Any) -> Dict[str, Any]:
    """What rtfobj knows of one object, JSON-ready."""
    entry: Dict[str, Any] = {
        "offset": obj.start,
        "raw_size": len(obj.rawdata or b""),
        "is_ole": bool(obj.is_ole),
    }
    if obj.is_ole:
        entry.update(
            class_name=_text(obj.class_name),
            format_id=obj.format_id,
            ole_size=obj.oledata_size,
        )
        if obj.clsid:
            entry.update(clsid=obj.clsid, clsid_name=obj.clsid_desc)
        entry["equation_editor"] = _is_equation(entry["class_name"], obj.clsid_desc)
    if obj.is_package:
        entry.update(
            package=True,
            filename=_text(obj.filename),
            source_path=_text(obj.src_path),
            temp_path=_text(obj.temp_path),
            size=len(obj.olepkgdata or b""),
        )
    return entry
