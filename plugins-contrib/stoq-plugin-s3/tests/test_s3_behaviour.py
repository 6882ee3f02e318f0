"""The ``s3`` plugin against a real S3-compatible server: content addressing with conditional
puts, get() checks, the connector's keys, and hostile tasks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from botocore.exceptions import ClientError

from stoq import Payload, RequestMeta, Stoq

SAMPLE = Path(__file__).parent / "data" / "sample.txt"


@pytest.fixture
def plugin(opts: Dict[str, Any]) -> Iterator[Any]:
    stoq = Stoq(plugin_opts={"s3": opts})
    yield stoq.load_plugin("s3")
    stoq.close()


def test_a_payload_is_stored_under_its_sha256_and_read_back(plugin: Any, s3: Any) -> None:
    content = SAMPLE.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    task = plugin.archive(Payload(content), RequestMeta()).results
    assert task["key"] == f"payloads/{digest[:2]}/{digest}" and task["sha256"] == digest
    assert s3.get_object(Bucket=task["bucket"], Key=task["key"])["Body"].read() == content
    back = plugin.get({**task, "extra_data": {"filename": "sample.txt"}})
    assert back.content == content
    assert back.payload_meta.extra_data == {"filename": "sample.txt"}


def test_a_second_store_of_the_same_bytes_does_not_rewrite_the_object(plugin: Any, s3: Any) -> None:
    """Conditional put: the object written first stays, with its original ETag and date."""
    task = plugin.archive(Payload(b"written once"), RequestMeta()).results
    first = s3.head_object(Bucket=task["bucket"], Key=task["key"])
    with pytest.raises(ClientError) as raised:  # what the plugin relies on: the server refuses
        s3.put_object(Bucket=task["bucket"], Key=task["key"], Body=b"other", IfNoneMatch="*")
    assert raised.value.response["Error"]["Code"] == "PreconditionFailed"
    assert plugin.archive(Payload(b"written once"), RequestMeta()).results == task
    again = s3.head_object(Bucket=task["bucket"], Key=task["key"])
    assert (again["ETag"], again["LastModified"]) == (first["ETag"], first["LastModified"])


def test_scanning_archives_every_payload_and_saves_the_response(
    opts: Dict[str, Any], s3: Any
) -> None:
    """As a destination archiver and connector in one scan."""
    stoq = Stoq(dest_archivers=["s3"], connectors=["s3"], plugin_opts={"s3": opts})
    response = stoq.scan(b"scan me")
    stoq.close()
    [root] = response.results
    assert root.archivers["s3"]["sha256"] == hashlib.sha256(b"scan me").hexdigest()
    day = response.time[:10].replace("-", "/")
    key = f"results/{day}/{response.scan_id}.json"
    saved = json.loads(s3.get_object(Bucket=opts["bucket"], Key=key)["Body"].read())
    assert saved["scan_id"] == response.scan_id
    assert s3.get_object(Bucket=opts["bucket"], Key=key)["ContentType"] == "application/json"


def test_a_tampered_object_is_refused(plugin: Any, s3: Any) -> None:
    task = plugin.archive(Payload(b"genuine"), RequestMeta()).results
    s3.put_object(Bucket=task["bucket"], Key=task["key"], Body=b"tampered")
    with pytest.raises(ValueError, match="does not match its SHA-256"):
        plugin.get(task)


@pytest.mark.parametrize(
    "task", ["../../etc/passwd", {"sha256": "../x"}, {"key": "payloads/x"}, None, 42]
)
def test_hostile_tasks_are_refused_before_any_request(plugin: Any, task: Any) -> None:
    """A task names a SHA-256, never a path: anything else is an error, not a read."""
    with pytest.raises(ValueError, match="is not"):
        plugin.get(task)


def test_a_missing_object_is_a_clear_error(plugin: Any) -> None:
    """A task for a payload nobody stored fails with S3's own NoSuchKey (one Error in run mode)."""
    with pytest.raises(ClientError, match="NoSuchKey"):
        plugin.get({"sha256": "0" * 64})


def test_a_missing_bucket_option_is_an_archive_error() -> None:
    stoq = Stoq(dest_archivers=["s3"])
    response = stoq.scan(b"x")
    stoq.close()
    [error] = response.errors
    assert error.stage == "archive" and "'bucket' is required" in error.error
