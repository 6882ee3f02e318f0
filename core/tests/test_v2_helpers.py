"""SPEC §4: ``stoq.helpers`` keeps v2's public functions and their behaviour."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import defaultdict
from typing import Any, Dict, List

import pytest

from stoq import Error, Payload, RequestMeta, StoqResponse, helpers
from stoq.data_classes import PayloadResults

ABC = b"abc"


def test_hash_helpers_give_the_standard_digests() -> None:
    """get_md5/sha1/sha256/sha512 are hex digests (FIPS 180 / RFC 1321 test vector 'abc')."""
    assert helpers.get_md5(ABC) == "900150983cd24fb0d6963f7d28e17f72"
    assert helpers.get_sha1(ABC) == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert helpers.get_sha256(ABC) == hashlib.sha256(ABC).hexdigest()
    assert helpers.get_sha256(ABC).startswith("ba7816bf8f01cfea")
    assert helpers.get_sha512(ABC).startswith("ddaf35a193617aba")
    assert len(helpers.get_sha512(b"")) == 128


def test_dumps_indents_by_four_unless_compact() -> None:
    """dumps() indents by 4 by default; compactly=True or indent=0/None gives one line."""
    data = {"a": [1, 2]}
    assert helpers.dumps(data) == json.dumps(data, indent=4)
    assert helpers.dumps(data, compactly=True) == json.dumps(data)
    assert helpers.dumps(data, indent=0) == json.dumps(data)
    assert helpers.dumps(data, indent=None) == json.dumps(data)
    assert helpers.dumps(data, indent=2) == json.dumps(data, indent=2)


def test_dumps_writes_non_ascii_as_is() -> None:
    """ensure_ascii is off, as in v2: text stays readable."""
    assert helpers.dumps({"name": "café"}, compactly=True) == '{"name": "café"}'


def test_encoder_handles_bytes_datetimes_sets_and_objects() -> None:
    """Bytes become UTF-8 text (bad bytes escaped), datetimes str(), sets lists, objects vars()."""

    class Thing:
        def __init__(self) -> None:
            self.colour = "red"

    when = datetime.datetime(2026, 12, 2, 5, 30, 1)
    data = {
        "raw": b"ok\xff",
        "when": when,
        "tags": {"x"},
        "thing": Thing(),
    }
    decoded = json.loads(helpers.dumps(data))
    assert decoded == {
        "raw": "ok\\xff",
        "when": "2026-12-02 05:30:01",
        "tags": ["x"],
        "thing": {"colour": "red"},
    }


def test_encoder_refuses_what_has_no_json_form() -> None:
    """An object with neither a JSON form nor attributes raises TypeError, as json does."""
    with pytest.raises(TypeError):
        helpers.dumps({"x": object()})


def test_dumps_of_a_response_matches_its_str() -> None:
    """A v2 connector's helpers.dumps(response) writes the same JSON as str(response)."""
    payload = Payload(b"content")
    payload.worker_results[0]["w"] = {"bytes": b"\x00\x01"}
    response = StoqResponse(
        [PayloadResults.from_payload(payload)],
        RequestMeta(source="test"),
        [Error("boom", "w", payload.payload_id, "scan")],
    )
    assert json.loads(helpers.dumps(response)) == json.loads(str(response))
    assert json.loads(helpers.dumps(response))["errors"][0]["error"] == "boom"


def _raise_here() -> None:
    raise KeyError("missing")


def test_format_exc_names_the_place_and_the_exception() -> None:
    """format_exc: the first traceback line, then module-qualified type and message."""
    try:
        _raise_here()
    except KeyError as exc:
        text = helpers.format_exc(exc)
        with_msg = helpers.format_exc(exc, msg="worker:failed to scan")
    assert text.startswith('File "') and "test_v2_helpers.py" in text
    assert text.endswith(" ; KeyError: 'missing'")
    assert with_msg.startswith("worker:failed to scan: File ")


def test_format_exc_of_an_exception_never_raised() -> None:
    """No traceback: the type and message alone (v2 raised IndexError here)."""
    assert helpers.format_exc(json.JSONDecodeError("bad", "doc", 0)) == (
        "json.decoder.JSONDecodeError: bad: line 1 column 1 (char 0)"
    )


def test_merge_dicts_extends_lists_per_key() -> None:
    """merge_dicts extends d1's lists with d2's and returns d1 (defaultdict or plain dict)."""
    first: Dict[str, List[Any]] = defaultdict(list, {"a": ["1"]})
    result = helpers.merge_dicts(first, {"a": ["2"], "b": ["3"]})
    assert result is first and dict(first) == {"a": ["1", "2"], "b": ["3"]}
    plain: Dict[str, List[Any]] = {}
    assert helpers.merge_dicts(plain, {"c": ["4"]}) == {"c": ["4"]}


def test_v2_import_forms() -> None:
    """Both v2 spellings import: ``from stoq import helpers`` and ``from stoq.helpers import``."""
    from stoq.helpers import get_sha1

    assert get_sha1 is helpers.get_sha1
    assert sorted(helpers.__all__) == helpers.__all__
