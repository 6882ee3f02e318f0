"""Deep dispatch from worker results: rules in the options say which results call which workers."""

from __future__ import annotations

from configparser import ConfigParser

from stoq.data_classes import DeepDispatcherResponse, Payload, RequestMeta
from stoq.plugins import DeepDispatcherPlugin

from .rules import _MISSING, Rule, parse_rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Dict, List, Optional, Tuple

__all__ = ["DEFAULT_RULES", "ResultsPlugin"]

#: Texts whose verdicts are remembered per plugin (a bound against endless distinct values).
VERDICTS_KEPT = 4096

#: MIME types (as libmagic and puremagic name them) of what the decompress worker opens.
ARCHIVE_MIMETYPES = [
    "application/zip",
    "application/x-zip-compressed",
    "application/java-archive",
    "application/x-7z-compressed",
    "application/gzip",
    "application/x-gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-lzma",
    "application/x-tar",
    "application/x-rar",
    "application/x-rar-compressed",
    "application/vnd.rar",
    "application/vnd.ms-cab-compressed",
    "application/x-cpio",
    "application/x-archive",
]

#: MIME types of OLE2 compound files (legacy Office documents, encrypted OOXML, bare storage).
OLE_MIMETYPES = [
    "application/x-ole-storage",
    "application/CDFV2",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-office",
    "application/encrypted",
]
#: Word, Excel and PowerPoint 2007+ (libmagic's names; puremagic's macro-enabled ones too).
OOXML_MIMETYPE = (
    r"(?i)^application/vnd\.(openxmlformats-officedocument\."
    r"|ms-(word|excel|powerpoint)\.[a-z0-9.]*macroenabled)"
)
#: MIME types libmagic and puremagic give scripts (libmagic often says text/plain instead: the
#: yara rule ``javascript_source`` catches those).
JAVASCRIPT_MIMETYPES = [
    "application/javascript",
    "application/x-javascript",
    "text/javascript",
    "application/ecmascript",
    "text/ecmascript",
]

#: Applied before the ``rules`` option unless ``default_rules`` is false.
DEFAULT_RULES: List[Dict[str, Any]] = [
    {
        "name": "archive-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": ARCHIVE_MIMETYPES,
        "dispatch": ["decompress"],
        "if_installed": True,
    },
    # Documents and mail (issue 13): PDFs, messages, and the text and HTML they carry.
    {
        "name": "pdf-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": ["application/pdf", "application/x-pdf"],
        "dispatch": ["pdf"],
        "if_installed": True,
    },
    {
        "name": "email-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": ["message/rfc822", "application/vnd.ms-outlook"],
        "dispatch": ["email"],
        "if_installed": True,
    },
    {
        "name": "html-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": ["text/html", "application/xhtml+xml"],
        "dispatch": ["html", "iocs"],
        "if_installed": True,
    },
    {
        "name": "text-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "regex",
        "value": "^text/",
        "dispatch": ["iocs"],
        "if_installed": True,
    },
    # Office documents and shortcuts (issue 13); yara's magic-byte rules route them too.
    {
        "name": "ole-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": OLE_MIMETYPES,
        "dispatch": ["ole", "olevba"],
        "if_installed": True,
    },
    {
        "name": "ooxml-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "regex",
        "value": OOXML_MIMETYPE,
        "dispatch": ["ooxml", "olevba"],
        "if_installed": True,
    },
    {
        "name": "rtf-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": ["text/rtf", "application/rtf"],
        "dispatch": ["rtf"],
        "if_installed": True,
    },
    {
        "name": "lnk-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": ["application/x-ms-shortcut"],
        "dispatch": ["lnk"],
        "if_installed": True,
    },
    # Executables (issue 14): a PE whose CLR header the pe worker found is a .NET assembly.
    {
        "name": "dotnet-clr-header",
        "worker": "pe",
        "path": "dotnet",
        "operator": "equals",
        "value": True,
        "dispatch": ["dotnet"],
        "if_installed": True,
    },
    # Wave 2 (issue 14): disc images, scripts, and the decoders on text and unknown data.
    {
        "name": "iso-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": ["application/x-iso9660-image"],
        "dispatch": ["iso"],
        "if_installed": True,
    },
    {
        "name": "javascript-mimetype",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": JAVASCRIPT_MIMETYPES,
        "dispatch": ["javascript"],
        "if_installed": True,
    },
    {
        "name": "text-decoders",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "regex",
        "value": "^text/",
        "dispatch": ["b64decode", "xordecode"],
        "if_installed": True,
    },
    {
        "name": "unknown-data-decoders",
        "worker": "mimetype",
        "path": "mimetype",
        "operator": "in",
        "value": ["application/octet-stream"],
        "dispatch": ["b64decode", "xordecode"],
        "if_installed": True,
    },
]


def _latest_results(payload: Payload, worker: str) -> Any:
    """The worker's results from the latest round it ran in (None if it has not run)."""
    for round_results in reversed(payload.worker_results):
        if worker in round_results:
            return round_results[worker]
    return None


class ResultsPlugin(DeepDispatcherPlugin):
    """Evaluates every rule against the payload's worker results so far.

    Each matching rule adds its workers (an ordered union) and an entry in the deep-dispatch
    meta, keyed by the rule's name, saying which worker, path and value matched — so the
    response explains why each worker ran. Rules are checked at load: an unknown operator, a
    bad regex or a missing field stops the plugin from loading with an error naming the rule.
    """

    #: Forked consumers may share one started instance (compiled rules in memory).
    fork_safe = True

    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {"rules": [], "default_rules": True}

    def __init__(self, config: ConfigParser, plugin_opts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(config, plugin_opts)
        options = self.plugin_opts  # merged with the defaults and typed by the core
        user_rules = parse_rules(options["rules"])
        builtin = parse_rules(DEFAULT_RULES) if options["default_rules"] else []
        names = {rule.name for rule in user_rules}
        # A rule of the user's with a default rule's name replaces it.
        self.rules: List[Rule] = [r for r in builtin if r.name not in names] + user_rules
        #: (worker, key) -> positions of the rules reading that one key of the worker's results
        #: (every default rule: 13 of 14 read mimetype's ``mimetype``); the others, by position.
        self._keyed: Dict[Tuple[str, str], List[int]] = {}
        self._others: List[int] = []
        for position, rule in enumerate(self.rules):
            if len(rule.tokens) == 1 and rule.tokens[0] != "*":
                self._keyed.setdefault((rule.worker, rule.tokens[0]), []).append(position)
            else:
                self._others.append(position)
        #: (worker, key, text found there) -> positions of the keyed rules that text matches.
        #: A rule's verdict on one text never changes, and payloads repeat a few MIME types.
        self._verdicts: Dict[Tuple[str, str, str], Tuple[int, ...]] = {}

    def _matches(self, payload: Payload) -> Dict[int, Any]:
        """Position of each matching rule -> the value it matched (in no particular order)."""
        latest: Dict[str, Any] = {}  # most rules read the same worker (mimetype)

        def results_of(worker: str) -> Any:
            if worker not in latest:
                latest[worker] = _latest_results(payload, worker)
            return latest[worker]

        matched: Dict[int, Any] = {}
        for (worker, key), positions in self._keyed.items():
            results = results_of(worker)
            if results is None:
                continue
            found = results.get(key, _MISSING) if isinstance(results, dict) else _MISSING
            if type(found) is not str:  # lists, numbers, tables, absent: rule by rule
                self._check(positions, results, matched)
                continue
            hits = self._verdicts.get((worker, key, found))
            if hits is None:
                hits = tuple(self._check(positions, results, {}))
                if len(self._verdicts) < VERDICTS_KEPT:
                    self._verdicts[(worker, key, found)] = hits
            matched.update(dict.fromkeys(hits, found))
        for position in self._others:
            results = results_of(self.rules[position].worker)
            if results is not None:
                self._check([position], results, matched)
        return matched

    def _check(self, positions: List[int], results: Any, matched: Dict[int, Any]) -> Dict[int, Any]:
        """Add each of the rules at ``positions`` that matches ``results`` to ``matched``."""
        for position in positions:
            match = self.rules[position].first_match(results)
            if match is not None:
                matched[position] = match[0]
        return matched

    def get_deep_dispatches(
        self, payload: Payload, request_meta: RequestMeta
    ) -> Optional[DeepDispatcherResponse]:
        matched = self._matches(payload)
        if not matched:
            return None
        workers: Dict[str, None] = {}
        optional: Dict[str, None] = {}
        meta: Dict[str, Any] = {}
        for position in sorted(matched):  # rule order, as if each rule were checked in turn
            rule = self.rules[position]
            (optional if rule.if_installed else workers).update(dict.fromkeys(rule.dispatch))
            meta[rule.name] = rule.describe(matched[position])
        lenient = [name for name in optional if name not in workers]
        return DeepDispatcherResponse(list(workers), meta, if_installed=lenient)
