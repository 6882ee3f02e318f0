"""SHA-256 once per payload: a worker and the engine share the core's digest, never a plugin's."""

from __future__ import annotations

import hashlib
from typing import Any, List, Optional

import pytest

import stoq.data_classes
from stoq import ExtractedPayload, Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin
from stoq.testing import make_stoq

MEMBERS = [b"first member", b"second member", b"first member"]


class DedupingExtractor(WorkerPlugin):
    """Extracts MEMBERS, dropping duplicates by the digest the core computed (as decompress does)."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        if payload.extracted_by:
            return None
        seen, extracted = set(), []
        for content in MEMBERS:
            child = ExtractedPayload(content)
            if child.sha256 not in seen:
                seen.add(child.sha256)
                extracted.append(child)
        return WorkerResponse({"kept": len(extracted)}, extracted=extracted)


class SwappingExtractor(WorkerPlugin):
    """Reads a child's digest, then replaces the child's content: the digest must not follow."""

    swap: Any = b"replacement"

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        if payload.extracted_by:
            return None
        child = ExtractedPayload(b"original")
        assert child.sha256 == hashlib.sha256(b"original").hexdigest()
        child.content = self.swap
        return WorkerResponse(extracted=[child])


@pytest.fixture
def sha256_calls(monkeypatch: pytest.MonkeyPatch) -> List[bytes]:
    """Every content hashed with SHA-256 (by the core, or by anything else in the process)."""
    calls: List[bytes] = []
    real = hashlib.sha256

    def counting(content: bytes = b"") -> Any:
        calls.append(bytes(content))
        return real(content)

    monkeypatch.setattr(stoq.data_classes.hashlib, "sha256", counting)
    return calls


def test_an_extracted_members_digest_is_computed_once(sha256_calls: List[bytes]) -> None:
    """The worker's duplicate check and the child payload share one SHA-256 per member."""
    with make_stoq(plugins={"extractor": DedupingExtractor}) as engine:
        response = engine.scan(b"root", add_start_dispatch=["extractor"])
    hashed = list(sha256_calls)  # (hashlib is patched for this test too)
    assert sorted(hashed) == sorted([b"root", *MEMBERS])  # no member hashed twice
    assert response.errors == []
    assert [r.sha256 for r in response.results] == [
        hashlib.sha256(c).hexdigest() for c in (b"root", b"first member", b"second member")
    ]


@pytest.mark.parametrize("swap", [b"replacement", bytearray(b"replacement"), "replacement"])
def test_replaced_content_is_hashed_again(swap: Any) -> None:
    """A digest is only reused for the very bytes object it was computed from."""
    extractor = type("Extractor", (SwappingExtractor,), {"swap": swap})
    with make_stoq(plugins={"extractor": extractor}) as engine:
        response = engine.scan(b"root", add_start_dispatch=["extractor"])
    [_root, child] = response.results
    assert child.sha256 == hashlib.sha256(b"replacement").hexdigest()


def test_a_digest_set_on_an_object_is_not_shared_with_other_bytes() -> None:
    """Equal-looking content in another object does not inherit a digest: identity is checked."""
    source = ExtractedPayload(b"abc")
    assert source.sha256 == hashlib.sha256(b"abc").hexdigest()
    other = Payload(b"abd")
    other.share_digest(source)
    assert other.sha256 == hashlib.sha256(b"abd").hexdigest()
    data = bytearray(b"abc")
    copied = Payload(data)  # a private, immutable copy: the bytearray's owner cannot change it
    copied.share_digest(ExtractedPayload(data))
    data[2:] = b"d"
    assert copied.content == b"abc"
    assert copied.sha256 == hashlib.sha256(b"abc").hexdigest()
