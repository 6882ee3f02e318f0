"""The ``ooxml`` stoQ plugin: what an Office Open XML package reaches for or hides."""

from __future__ import annotations

import io
import logging
import posixpath
import zipfile
from typing import Any, ClassVar, Dict, List, Optional

from stoq.data_classes import ExtractedPayload, Payload, PayloadMeta, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin

from .fields import FieldReader, content_types, dde_link_parts, dde_links, word_field_parts
from .harmless import is_harmless
from .relationships import REMOTE_TEMPLATE_TYPES, external_relationships

__all__ = ["OoxmlPlugin"]

log = logging.getLogger(__name__)

NOT_OOXML = "not an OOXML package (no zip with [Content_Types].xml)"
#: Largest XML part read for relationships; real ones are a few KiB.
MAX_RELS_BYTES = 4 * 1024 * 1024
#: Largest XML part read for fields and DDE links (by its uncompressed content).
MAX_PART_BYTES = 64 * 1024 * 1024
#: Fields reported for one package (harmless ones do not count); later ones are left out
#: and counted in ``limits_hit``.
MAX_FIELDS = 1000
DDE_COMMANDS = ("DDE", "DDEAUTO")


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _part_problem(name: str, exc: Exception) -> str:
    """A part's failure in one line, naming the part (the XML reader's own errors already do)."""
    own = isinstance(exc, ValueError) and str(exc).startswith(f"{name}: ")
    return str(exc) if own else f"{name}: {_describe(exc)}"


def _worth_reporting(instruction: str) -> bool:
    return bool(instruction.strip()) and not is_harmless(instruction.strip())


def _is_embedding(name: str) -> bool:
    return "/embeddings/" in f"/{name}" and not name.endswith("/")


class OoxmlPlugin(WorkerPlugin):
    """Reports external relationships (remote templates), DDE and other fields, custom XML
    parts and macro parts of a docx/xlsx/pptx (and their macro-enabled and template kinds),
    and extracts the objects under ``*/embeddings/`` as children.

    The zip is read in memory; parts are never written to disk. VBA projects are listed but not
    extracted (``olevba`` reads them inside the package).
    """

    #: Typed defaults; a config file's [plugins.ooxml] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "max_embedded": 100,
        "max_embedded_size": 64 * 1024 * 1024,
    }

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        """Read the package; a broken one gives an ``error`` field and an error, never a crash."""
        try:
            package = zipfile.ZipFile(io.BytesIO(payload.content))
        except Exception as exc:  # BadZipFile, NotImplementedError (zip version), OSError, ...
            if not payload.content.startswith(b"PK"):
                return WorkerResponse({"error": NOT_OOXML})
            log.debug("ooxml: cannot open payload %s", payload.payload_id, exc_info=True)
            error = f"cannot parse: {_describe(exc)}"
            return WorkerResponse({"error": error}, errors=[error])
        with package:
            names = package.namelist()
            if "[Content_Types].xml" not in names:
                return WorkerResponse({"error": NOT_OOXML})
            results: Dict[str, Any] = {"parts": len(names)}
            errors: List[str] = []
            for step in (self._relationships, self._fields, self._inventory):
                try:
                    step(package, names, results)
                except Exception as exc:  # a damaged part spoils one step, not the others
                    log.debug("ooxml: %s failed", step.__name__, exc_info=True)
                    errors.append(f"{step.__name__.strip('_')}: {_describe(exc)}")
            extracted = self._embedded(package, names, results, errors)
        if errors:
            results["errors"] = errors
        return WorkerResponse(results, extracted, errors)

    def _relationships(
        self, package: zipfile.ZipFile, names: List[str], out: Dict[str, Any]
    ) -> None:
        found: List[Dict[str, Any]] = []
        for name in names:
            if not name.endswith(".rels"):
                continue
            if package.getinfo(name).file_size > MAX_RELS_BYTES:
                raise ValueError(f"{name}: relationships part over {MAX_RELS_BYTES} bytes")
            found.extend(external_relationships(name, package.read(name)))
        out["external_relationships"] = found
        out["remote_templates"] = [r["target"] for r in found if r["type"] in REMOTE_TEMPLATE_TYPES]

    def _fields(self, package: zipfile.ZipFile, names: List[str], out: Dict[str, Any]) -> None:
        """Word fields without the harmless ones, then Excel DDE links, read part by part.

        A part that cannot be read is one error; the fields of the other parts are kept.
        """
        problems: List[str] = []
        try:
            types = content_types(package, MAX_PART_BYTES)
        except Exception as exc:  # still worth reading the parts found by their usual names
            log.debug("ooxml: cannot read the content types", exc_info=True)
            problems.append(_part_problem("[Content_Types].xml", exc))
            types = dict.fromkeys(names, "")
        reader = FieldReader(MAX_FIELDS, MAX_PART_BYTES, _worth_reporting)
        links: List[str] = []
        for name in word_field_parts(types):
            try:
                reader.read(package, name)
            except Exception as exc:  # bad XML, a DTD, a damaged member: this part only
                log.debug("ooxml: cannot read fields of %s", name, exc_info=True)
                problems.append(_part_problem(name, exc))
        for name in dde_link_parts(types):
            try:
                links += dde_links(package, name, MAX_PART_BYTES)
            except Exception as exc:
                log.debug("ooxml: cannot read DDE links of %s", name, exc_info=True)
                problems.append(_part_problem(name, exc))
        fields = [f.strip() for f in reader.fields]
        fields += [f"DDE {link.strip()}" for link in links if link.strip()]
        out["fields"] = fields
        out["dde"] = [f for f in fields if f.split(None, 1)[0].upper() in DDE_COMMANDS]
        if reader.dropped:
            limits_hit = f"max_fields: {reader.dropped} more fields not reported"
            out.setdefault("limits_hit", []).append(limits_hit)
        if reader.too_deep:
            limits_hit = f"max_nesting: {reader.too_deep} fields nested too deep not read"
            out.setdefault("limits_hit", []).append(limits_hit)
        if problems:
            raise ValueError("; ".join(problems))

    def _inventory(self, package: zipfile.ZipFile, names: List[str], out: Dict[str, Any]) -> None:
        """Parts worth knowing about by name: macros and custom XML."""
        info = package.getinfo
        out["vba_projects"] = [
            n for n in names if posixpath.basename(n).lower() == "vbaproject.bin"
        ]
        out["macro_sheets"] = [
            n for n in names if "/macrosheets/" in n and n.endswith((".xml", ".bin"))
        ]
        out["macros"] = bool(out["vba_projects"] or out["macro_sheets"])
        out["custom_xml"] = [
            {"part": n, "size": info(n).file_size}
            for n in names
            if n.startswith("customXml/") and n.endswith(".xml") and "/_rels/" not in n
        ]

    def _embedded(
        self, package: zipfile.ZipFile, names: List[str], out: Dict[str, Any], errors: List[str]
    ) -> List[ExtractedPayload]:
        """Each embedding as a child, within ``max_embedded`` and ``max_embedded_size``."""
        max_count = self.plugin_opts["max_embedded"]
        max_size = self.plugin_opts["max_embedded_size"]
        listed: List[Dict[str, Any]] = []
        children: List[ExtractedPayload] = []
        limits_hit: List[str] = []
        for name in filter(_is_embedding, names):
            entry: Dict[str, Any] = {"part": name, "size": package.getinfo(name).file_size}
            listed.append(entry)
            if len(children) >= max_count:
                entry["skipped"] = "max_embedded"
            elif entry["size"] > max_size:
                entry["skipped"] = "max_embedded_size"
            else:
                try:
                    content = _read_bounded(package, name, max_size)
                except Exception as exc:  # a corrupt member: say so and go on
                    log.debug("ooxml: cannot read %s", name, exc_info=True)
                    entry["error"] = _describe(exc)
                    errors.append(f"embedded {name}: {entry['error']}")
                    continue
                if content is None:
                    entry["skipped"] = "max_embedded_size"
                    continue
                meta = {"filename": posixpath.basename(name), "part": name}
                children.append(ExtractedPayload(content, PayloadMeta(extra_data=meta)))
            if "skipped" in entry:
                limits_hit.append(f"{entry['skipped']}: {name} not extracted")
        out["embedded"] = listed
        if limits_hit:
            out.setdefault("limits_hit", []).extend(limits_hit)
        return children


def _read_bounded(package: zipfile.ZipFile, name: str, limit: int) -> Optional[bytes]:
    """The member's bytes, or None past ``limit`` (a member may lie about its size)."""
    with package.open(name) as member:
        content = member.read(limit + 1)
    return None if len(content) > limit else content
