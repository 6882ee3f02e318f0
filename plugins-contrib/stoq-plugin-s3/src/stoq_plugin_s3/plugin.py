"""The ``s3`` stoQ plugin: payloads content-addressed and responses in S3-compatible storage.

Archiver: each payload is written once under ``payload_prefix/ab/abcd…`` (its SHA-256) with a
conditional put (``If-None-Match: *``), so a second machine storing the same file does not
rewrite it; ``get`` turns the task ``archive`` returned back into a payload, checking its hash.
Connector: each response as JSON under ``results_prefix/YYYY/MM/DD/<scan_id>.json`` (the date
from the response's time), so a redelivered request overwrites its own object.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar, Dict, Optional

import boto3.session
from botocore.config import Config
from botocore.exceptions import ClientError

from stoq.data_classes import ArchiverResponse, Payload, PayloadMeta, RequestMeta, StoqResponse
from stoq.plugins import ArchiverPlugin, ConnectorPlugin

SHA256 = re.compile(r"[0-9a-f]{64}")
#: Error codes an S3-compatible server answers a conditional put with when the key exists.
ALREADY_THERE = {"PreconditionFailed", "ConditionalRequestConflict"}


class S3Plugin(ArchiverPlugin, ConnectorPlugin):
    """Payloads content-addressed and responses in S3-compatible storage."""

    #: Typed defaults; a config file's [plugins.s3] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "bucket": "",
        "results_bucket": "",
        "endpoint_url": "",
        "region": "",
        "payload_prefix": "payloads/",
        "results_prefix": "results/",
        "max_attempts": 5,
    }

    def start(self) -> None:
        """One client per process; credentials the usual boto3 way (environment, profile, role)."""
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.plugin_opts["endpoint_url"] or None,
            region_name=self.plugin_opts["region"] or None,
            config=Config(retries={"max_attempts": int(self.plugin_opts["max_attempts"])}),
        )

    def bucket(self, option: str = "bucket") -> str:
        """The configured bucket; a call without one is an error naming the option."""
        name = str(self.plugin_opts[option] or self.plugin_opts["bucket"])
        if not name:
            raise ValueError("option 'bucket' is required")
        return name

    def payload_key(self, sha256: str) -> str:
        return f"{self.plugin_opts['payload_prefix']}{sha256[:2]}/{sha256}"

    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        """Store the payload unless its SHA-256 is already there; the result is ``get``'s task."""
        bucket, key = self.bucket(), self.payload_key(payload.sha256)
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=payload.content, IfNoneMatch="*")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ALREADY_THERE:
                raise
        return ArchiverResponse({"bucket": bucket, "key": key, "sha256": payload.sha256})

    def get(self, task: Any) -> Optional[Payload]:
        """``{"bucket", "key", "sha256"}`` (plus optional ``extra_data``) back into a payload."""
        if not isinstance(task, dict) or not SHA256.fullmatch(str(task.get("sha256", ""))):
            raise ValueError(f"archiver task {task!r:.80} is not {{'sha256': <hex>, ...}}")
        bucket = str(task.get("bucket") or self.bucket())
        key = self.payload_key(task["sha256"])
        content = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        if hashlib.sha256(content).hexdigest() != task["sha256"]:
            raise ValueError(f"s3://{bucket}/{key} does not match its SHA-256")
        return Payload(content, PayloadMeta(extra_data=task.get("extra_data") or {}))

    def save(self, response: StoqResponse) -> None:
        """The response JSON under a key derived from its date and scan id."""
        day = response.time[:10].replace("-", "/")  # ISO 8601: YYYY-MM-DD first
        key = f"{self.plugin_opts['results_prefix']}{day}/{response.scan_id}.json"
        bucket = self.bucket("results_bucket")
        body = str(response).encode()
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
