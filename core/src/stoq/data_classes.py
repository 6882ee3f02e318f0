"""The objects that travel between the engine and plugins.

Constructors and defaults follow stoQ v2 so that plugins written for it keep working.
Every class prints as JSON (``str(obj)``), as in v2.
"""

from __future__ import annotations

import hashlib
import os

from stoq.serialize import dumps, iso_now, to_jsonable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterator, List, Optional, Union

    #: What a response's ``errors`` list takes: an Error, or a message.
    ErrorLike = Union["Error", str]

__all__ = [
    "ArchiverResponse",
    "DecoratorResponse",
    "DeepDispatcherResponse",
    "DispatcherResponse",
    "Error",
    "ExtractedPayload",
    "Payload",
    "PayloadMeta",
    "PayloadResults",
    "RequestMeta",
    "StoqResponse",
    "WorkerResponse",
]

#: Random bytes read per system call: 4096 make 256 ids (os.urandom costs a system call, ~0.5
#: to 4 us here, whatever the size up to a page). The same randomness, read in larger pieces.
_ID_BYTES = 4096
_VERSION = bytes((b & 0x0F) | 0x40 for b in range(256))  # byte 6's high nibble: version 4
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))  # byte 8's top bits: RFC 4122 variant
#: Ids made and not yet handed out; list.pop is atomic, so threads never share one.
_ids: List[str] = []


#: Where the 32 hex digits of an id go among its 36 characters (the others are dashes).
_HEX_PLACES = [k for k in range(36) if k not in (8, 13, 18, 23)]


def _more_ids() -> None:
    """256 ids from 4096 random bytes. Each digit place of all 256 ids is filled by one strided
    copy (32 copies in all) instead of five slices and a format per id: 0.36 -> 0.15 us an id."""
    raw = bytearray(os.urandom(_ID_BYTES))
    raw[6::16] = raw[6::16].translate(_VERSION)
    raw[8::16] = raw[8::16].translate(_VARIANT)
    digits = raw.hex().encode()
    text = bytearray(b"-" * (36 * (_ID_BYTES // 16)))
    for digit, place in enumerate(_HEX_PLACES):
        text[place::36] = digits[digit::32]
    written = text.decode()
    _ids.extend([written[i : i + 36] for i in range(0, len(written), 36)])


def new_id() -> str:
    """A random (version 4) UUID as text, as ``str(uuid.uuid4())`` but ~2.5x cheaper."""
    while True:
        try:
            return _ids.pop()
        except IndexError:
            _more_ids()


# A forked child must not hand out the ids its parent also holds.
os.register_at_fork(after_in_child=_ids.clear)


class _Printable:
    """Gives every data class the v2 behaviour of printing as JSON."""

    def to_dict(self) -> Dict[str, Any]:
        return {k: to_jsonable(v) for k, v in vars(self).items()}

    def __str__(self) -> str:
        return dumps(self.to_dict())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


class Error(_Printable):
    """One failure, kept as data: which plugin, on which payload, at which stage.

    ``error`` is always one line (SPEC §5.2): line breaks and runs of spaces in the text given
    become single spaces; the full traceback belongs in the log.
    """

    def __init__(
        self,
        error: str,
        plugin_name: Optional[str] = None,
        payload_id: Optional[str] = None,
        stage: Optional[str] = None,
    ) -> None:
        text = error if isinstance(error, str) else str(error)
        self.error = " ".join(text.split()) if ("\n" in text or "\r" in text) else text
        self.plugin_name = plugin_name
        self.payload_id = payload_id
        self.stage = stage

    def to_dict(self) -> Dict[str, Any]:
        return {
            "plugin_name": self.plugin_name,
            "payload_id": self.payload_id,
            "stage": self.stage,
            "error": self.error,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Error) and self.to_dict() == other.to_dict()


class PayloadMeta(_Printable):
    """What the submitter or the extracting worker says about a payload."""

    def __init__(
        self,
        should_archive: bool = True,
        extra_data: Optional[Dict[str, Any]] = None,
        dispatch_to: Optional[List[str]] = None,
        should_scan: bool = True,
    ) -> None:
        self.should_archive = should_archive
        self.extra_data = {} if extra_data is None else extra_data
        self.dispatch_to = [] if dispatch_to is None else dispatch_to
        self.should_scan = should_scan

    def to_dict(self) -> Dict[str, Any]:
        return {
            "should_archive": self.should_archive,
            "extra_data": self.extra_data,
            "dispatch_to": self.dispatch_to,
            "should_scan": self.should_scan,
        }


class RequestMeta(_Printable):
    """What is known about the whole request (where it came from, extra data)."""

    def __init__(
        self,
        archive_payloads: bool = True,
        source: Optional[str] = None,
        extra_data: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.archive_payloads = archive_payloads
        self.source = source
        self.extra_data = {} if extra_data is None else extra_data

    def to_dict(self) -> Dict[str, Any]:
        return {
            "archive_payloads": self.archive_payloads,
            "source": self.source,
            "extra_data": self.extra_data,
        }


class _Digested:
    """SHA-256 of ``content``, computed once by the core and remembered with the object hashed.

    The digest is kept together with the very content object it was computed from and used
    only while ``content`` is still that object, so replacing the content recomputes it. A
    worker that needs the digest of content it extracts (decompress, to find duplicates) reads
    ``ExtractedPayload.sha256``; the engine hands that digest to the child Payload only when
    the child holds the same immutable ``bytes`` object. No digest given by plugin code is
    ever taken on trust: the API has no way to pass one in.
    """

    _sha256: Optional[str] = None
    _digested: Optional[bytes] = None

    def _digest_content(self) -> bytes:
        """The content object to hash (each subclass holds it its own way)."""
        raise NotImplementedError

    @property
    def sha256(self) -> str:
        """SHA-256 of the content, computed once (duplicate detection and output share it)."""
        content = self._digest_content()
        if self._sha256 is None or self._digested is not content:
            self._sha256 = hashlib.sha256(content).hexdigest()
            self._digested = content
        return self._sha256


class ExtractedPayload(_Printable, _Digested):
    """Content a worker found inside a payload; the engine turns it into a child Payload."""

    def __init__(self, content: bytes, payload_meta: Optional[PayloadMeta] = None) -> None:
        self.content = content.encode() if isinstance(content, str) else content
        self.payload_meta = PayloadMeta() if payload_meta is None else payload_meta

    def _digest_content(self) -> bytes:
        return self.content

    def to_dict(self) -> Dict[str, Any]:
        return {"size": len(self.content), "payload_meta": self.payload_meta.to_dict()}


def _owned_bytes(content: Union[bytes, str, bytearray, memoryview]) -> bytes:
    """Payload content as bytes nobody else can change in place."""
    if isinstance(content, str):
        return content.encode()
    if isinstance(content, bytes):
        return content
    if not isinstance(content, (bytearray, memoryview)):
        raise TypeError(f"payload content is {type(content).__name__}, expected bytes")
    return bytes(content)  # a private copy


class Payload(_Printable, _Digested):
    """One file under analysis, with everything plugins have said about it so far.

    ``content`` is read-only bytes: every plugin analyses what the response's ``sha256`` and
    ``size`` describe. A plugin assigning to it gets an ``AttributeError`` (an Error for that
    plugin); one that wants to pass on changed bytes extracts them as a child.
    """

    def __init__(
        self,
        content: Union[bytes, str],
        payload_meta: Optional[PayloadMeta] = None,
        extracted_by: Optional[str] = None,
        extracted_from: Optional[str] = None,
        payload_id: Optional[str] = None,
    ) -> None:
        if type(content) is not bytes:  # plain bytes, the common case, need no checks
            content = _owned_bytes(content)
        if payload_meta is not None and not isinstance(payload_meta, PayloadMeta):
            raise TypeError(f"payload_meta is {type(payload_meta).__name__}, expected PayloadMeta")
        self._content = content
        self.payload_meta = PayloadMeta() if payload_meta is None else payload_meta
        self.extracted_by = extracted_by
        self.extracted_from = extracted_from
        self.payload_id = new_id() if payload_id is None else payload_id
        self.dispatch_meta: Dict[str, Dict[str, Any]] = {}
        self.deep_dispatch_meta: Dict[str, Dict[str, Any]] = {}
        self.worker_results: List[Dict[str, Any]] = [{}]
        self.plugins_run: Dict[str, List[Any]] = {"workers": [[]], "archivers": []}
        self.archiver_results: Dict[str, Any] = {}
        #: ``{stage: {plugin: seconds}}``, filled by the engine (``stoq.timings``).
        self.timings: Dict[str, Dict[str, float]] = {}
        #: Workers whose answer came from the result cache (``stoq.cache``).
        self.from_cache: List[str] = []

    @property
    def content(self) -> bytes:
        """The payload's bytes (read-only)."""
        return self._content

    def _digest_content(self) -> bytes:
        return self._content

    @property
    def sha256(self) -> str:
        """SHA-256 of the content, computed once (the engine reads it several times a payload)."""
        if self._digested is not self._content or self._sha256 is None:
            self._sha256 = hashlib.sha256(self._content).hexdigest()
            self._digested = self._content
        return self._sha256

    def share_digest(self, source: _Digested) -> None:
        """Take the SHA-256 the core already computed for this payload's content object.

        Only an immutable ``bytes`` object that ``source`` itself hashed qualifies, so the
        digest is the core's own computation over exactly these bytes.
        """
        content = self.content
        if type(content) is bytes and source._digested is content:
            self._sha256, self._digested = source._sha256, content

    def to_dict(self) -> Dict[str, Any]:
        return PayloadResults.from_payload(self).to_dict()


class PayloadResults(_Printable):
    """The JSON-facing record of one scanned payload, built by the engine."""

    def __init__(
        self,
        payload_id: str,
        size: int,
        payload_meta: PayloadMeta,
        workers: List[Dict[str, Any]],
        plugins_run: Dict[str, List[Any]],
        extracted_from: Optional[str] = None,
        extracted_by: Optional[str] = None,
        sha256: Optional[str] = None,
        archivers: Optional[Dict[str, Any]] = None,
        dispatch_meta: Optional[Dict[str, Dict[str, Any]]] = None,
        deep_dispatch_meta: Optional[Dict[str, Dict[str, Any]]] = None,
        timings: Optional[Dict[str, Dict[str, float]]] = None,
        from_cache: Optional[List[str]] = None,
    ) -> None:
        self.payload_id = payload_id
        self.size = size
        self.sha256 = sha256
        self.payload_meta = payload_meta
        self.extracted_from = extracted_from
        self.extracted_by = extracted_by
        self.workers = workers
        self.plugins_run = plugins_run
        self.archivers = {} if archivers is None else archivers
        self.dispatch_meta = {} if dispatch_meta is None else dispatch_meta
        self.deep_dispatch_meta = {} if deep_dispatch_meta is None else deep_dispatch_meta
        self.timings = {} if timings is None else timings
        self.from_cache = [] if from_cache is None else from_cache

    @classmethod
    def from_payload(cls, payload: Payload) -> PayloadResults:
        # Positional: the same call with keywords costs twice as much (once per payload).
        return cls(
            payload.payload_id,
            len(payload.content),
            payload.payload_meta,
            payload.worker_results,
            payload.plugins_run,
            payload.extracted_from,
            payload.extracted_by,
            payload.sha256,
            payload.archiver_results,
            payload.dispatch_meta,
            payload.deep_dispatch_meta,
            payload.timings,
            payload.from_cache,
        )

    def to_dict(self) -> Dict[str, Any]:
        meta = self.payload_meta
        data = {
            "payload_id": self.payload_id,
            "size": self.size,
            "sha256": self.sha256,
            "payload_meta": {  # PayloadMeta.to_dict, inlined: once per payload
                "should_archive": meta.should_archive,
                "extra_data": meta.extra_data,
                "dispatch_to": meta.dispatch_to,
                "should_scan": meta.should_scan,
            },
            "extracted_from": self.extracted_from,
            "extracted_by": self.extracted_by,
            "workers": self.workers,
            "plugins_run": self.plugins_run,
            "archivers": self.archivers,
            "dispatch_meta": self.dispatch_meta,
            "deep_dispatch_meta": self.deep_dispatch_meta,
            "timings": self.timings,
        }
        if self.from_cache:  # only with the result cache on: v2 output keeps its fields
            data["from_cache"] = self.from_cache
        return data


class StoqResponse(_Printable):
    """The result of one request: every payload's results, errors and decorations."""

    def __init__(
        self,
        results: List[PayloadResults],
        request_meta: RequestMeta,
        errors: List[Error],
        time: Optional[str] = None,
        decorators: Optional[Dict[str, Any]] = None,
        scan_id: Optional[str] = None,
        timings: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.results = results
        self.request_meta = request_meta
        self.errors = errors
        self.time = iso_now() if time is None else time
        self.decorators = {} if decorators is None else decorators
        self.scan_id = new_id() if scan_id is None else scan_id
        #: The request's ``total`` seconds and ``{"decorate": {plugin: seconds}}``.
        self.timings: Dict[str, Any] = {} if timings is None else timings
        #: The scan this response reuses (``scan_id``, ``time``), when the whole request came
        #: from the result cache (``stoq.request_cache``).
        self.from_cache: Optional[Dict[str, str]] = None

    def to_dict(self) -> Dict[str, Any]:
        data = {
            "scan_id": self.scan_id,
            "time": self.time,
            "results": [r.to_dict() for r in self.results],
            "request_meta": self.request_meta.to_dict(),
            "errors": [e.to_dict() for e in self.errors] if self.errors else [],
            "decorators": self.decorators,
            "timings": self.timings,
        }
        if self.from_cache is not None:  # only on a whole-request hit: v2 output keeps its fields
            data["from_cache"] = self.from_cache
        return data

    def split(self) -> List[Dict[str, Any]]:
        """One response dict per worker result, as in v2 (what v2 users index, one per document).

        Each keeps the request's other fields and holds one payload whose ``workers`` is
        ``[{worker: results}]``; payloads without worker results give none.
        """
        whole = self.to_dict()
        parts = []
        for result in whole["results"]:
            for round_results in result["workers"]:
                for worker, results in round_results.items():
                    one = dict(result, workers=[{worker: results}])
                    parts.append(dict(whole, results=[one]))
        return parts

    def split_by_payload(self) -> List[Dict[str, Any]]:
        """One response dict per payload, each keeping the request's other fields."""
        whole = self.to_dict()
        return [dict(whole, results=[result]) for result in whole["results"]]

    def __iter__(self) -> Iterator[PayloadResults]:
        return iter(self.results)


class WorkerResponse(_Printable):
    """What a worker returns: its results, payloads it extracted, and errors."""

    def __init__(
        self,
        results: Optional[Dict[str, Any]] = None,
        extracted: Optional[List[ExtractedPayload]] = None,
        errors: Optional[List[ErrorLike]] = None,
    ) -> None:
        self.results = results
        self.extracted = [] if extracted is None else extracted
        self.errors = [] if errors is None else errors


class DispatcherResponse(_Printable):
    """What a dispatcher returns: the workers to run, why (meta), and errors.

    ``plugin_names`` must be installed: a missing one is a load error, as for a name the user
    gave. ``if_installed`` is for default routing (rules shipped with a plugin): the engine
    runs the installed ones and skips the others with a notice, recorded as
    ``meta["not_installed"]`` and logged once per ``Stoq``.
    """

    def __init__(
        self,
        plugin_names: Optional[List[str]] = None,
        meta: Optional[Dict[str, Any]] = None,
        errors: Optional[List[ErrorLike]] = None,
        if_installed: Optional[List[str]] = None,
    ) -> None:
        self.plugin_names = [] if plugin_names is None else plugin_names
        self.meta = {} if meta is None else meta
        self.errors = [] if errors is None else errors
        self.if_installed = [] if if_installed is None else if_installed


class DeepDispatcherResponse(DispatcherResponse):
    """What a deep dispatcher returns after reading the workers' results."""


class ArchiverResponse(_Printable):
    """What an archiver returns after storing a payload (e.g. where it went)."""

    def __init__(
        self, results: Optional[Dict[str, Any]] = None, errors: Optional[List[ErrorLike]] = None
    ) -> None:
        self.results = results
        self.errors = [] if errors is None else errors


class DecoratorResponse(ArchiverResponse):
    """What a decorator returns: request-wide conclusions."""
