"""The ``redis`` stoQ plugin: run mode on many machines over one Redis stream.

Provider: reads the work stream through a consumer group and acknowledges an entry only when
the core says every connector saved its response (SPEC §5.5); claims work a dead consumer
left; dead-letters an entry delivered more than ``max_deliveries`` times, with an ``Error``
response saved for it. Archiver: payloads in Redis keys (a small cluster's alternative to
S3). Connector: each response under its scan id with a TTL, and/or on a results stream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import time
from queue import Empty, Queue
from typing import Any, ClassVar, Dict, List, Optional, Set, Tuple

import redis

from stoq.data_classes import (
    ArchiverResponse,
    Error,
    Payload,
    PayloadMeta,
    RequestMeta,
    StoqResponse,
)
from stoq.plugins import ArchiverPlugin, ConnectorPlugin, Delivery, ProviderPlugin
from stoq_plugin_redis.connection import connect
from stoq_plugin_redis.stream import Entry, WorkStream
from stoq_plugin_redis.submit import Submission, Submitter
from stoq_plugin_redis.wire import decode, scan_id_for

log = logging.getLogger("stoq.redis")

#: Seconds to wait before reading again after Redis could not be reached.
RETRY_AFTER = 1.0
#: Attempts to send one batch of acknowledgements before leaving it to redelivery.
SETTLE_ATTEMPTS = 5
#: Seconds the acknowledgements thread lets verdicts gather after the first one, so that one
#: round trip settles many: sent as they came (one or two a trip), each trip cost this process
#: ~90 us of CPU and Redis a transaction of its own, as much as reading the entry. A stop
#: sends what has gathered at once.
GATHER = 0.02
#: Verdicts settled in one round trip at most.
MAX_BATCH = 1000
#: ``(entry id, None)`` to acknowledge, ``(entry id, reason)`` to nack.
Verdict = Tuple[str, Optional[str]]


class RedisPlugin(ProviderPlugin, ArchiverPlugin, ConnectorPlugin):
    """Redis Streams consumer group, at-least-once with dead-letter: run mode on many machines."""

    #: Typed defaults; a config file's [plugins.redis] and --plugin-opts override them.
    DEFAULT_OPTIONS: ClassVar[Dict[str, Any]] = {
        "url": "",
        "username": "",
        "password": "",
        "ssl_ca_certs": "",
        "ssl_certfile": "",
        "ssl_keyfile": "",
        "stream": "stoq:work",
        "group": "stoq",
        "consumer": "",
        "dead_letter_stream": "",
        "max_deliveries": 3,
        "claim_idle": 600.0,
        "claim_every": 5.0,
        "batch": 16,
        "read_block": 1.0,
        "stop_when_idle": 0.0,
        "payload_prefix": "stoq:payload:",
        "payload_ttl": 7 * 24 * 3600,
        "results_key_prefix": "stoq:result:",
        "results_ttl": 24 * 3600,
        "results_stream": "",
        "results_maxlen": 100000,
    }

    def start(self) -> None:
        """Connect lazily: a consumer that only saves never opens the work stream."""
        self.client = connect(self.plugin_opts)
        self._stopping = threading.Event()
        self._work: Optional[WorkStream] = None
        self._verdicts: Queue[Optional[Verdict]] = Queue()
        self._settler: Optional[threading.Thread] = None
        #: Entries queued and not yet settled: kept alive in the group, never claimed back.
        self._held: Set[str] = set()
        self._held_lock = threading.Lock()
        self._submitter: Optional[Submitter] = None

    def stop(self) -> None:
        """End ``ingest`` at its next read (entries it holds stay pending for redelivery), and
        send the acknowledgements still queued."""
        self._stopping.set()
        if self._settler is not None:
            self._verdicts.put(None)
            self._settler.join(RETRY_AFTER * SETTLE_ATTEMPTS + 5)

    # -- provider --------------------------------------------------------------------------

    def work_stream(self) -> WorkStream:
        """This process's consumer of the work stream (named host:pid unless configured)."""
        if self._work is None:
            opts = self.plugin_opts
            stream = str(opts["stream"])
            self._work = WorkStream(
                self.client,
                stream,
                str(opts["group"]),
                str(opts["consumer"] or f"{socket.gethostname()}:{os.getpid()}"),
                str(opts["dead_letter_stream"] or f"{stream}:dead"),
                float(opts["claim_idle"]),
            )
        return self._work

    def ingest(self, queue: Queue[Any]) -> None:
        """Queue what the local queue has room for: claimed work first, then new entries."""
        work = self.work_stream()
        work.ensure_group()
        opts = self.plugin_opts
        next_claim = 0.0
        quiet_since = time.monotonic()
        batch = int(opts["batch"])
        # Read once half a batch fits: fewer, fuller round trips than topping up item by item.
        threshold = max(1, min(batch, queue.maxsize if queue.maxsize > 0 else batch) // 2)
        next_keep = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_keep:  # whether or not there is room to read
                    work.keep(self._held_entries())
                    next_keep = time.monotonic() + self._claim_every()
                room = queue.maxsize - queue.qsize() if queue.maxsize > 0 else batch
                if room < threshold:
                    self._stopping.wait(0.005)
                    continue
                entries: List[Entry] = []
                if time.monotonic() >= next_claim:
                    held = self._held_entries()
                    claimed, more = work.claim(room)
                    entries = [e for e in claimed if e[0] not in held]
                    # A long pending list is scanned a slice per call: go on sooner.
                    pause = self._claim_every() / (10 if more else 1)
                    next_claim = time.monotonic() + pause
                if not entries:
                    entries = work.read(min(room, batch), float(opts["read_block"]))
                if not entries and self._idle_long_enough(quiet_since, work):
                    return
            except redis.ConnectionError as exc:
                log.warning("redis unreachable (%s); retrying in %gs", exc, RETRY_AFTER)
                self._stopping.wait(RETRY_AFTER)
                continue
            if entries:
                quiet_since = time.monotonic()
            for entry in entries:
                with self._held_lock:
                    self._held.add(entry[0])
                queue.put(self._delivery(work, entry))

    def _held_entries(self) -> List[str]:
        with self._held_lock:
            return sorted(self._held)

    def _claim_every(self) -> float:
        """Seconds between claim rounds, which also keep held entries alive: well inside
        ``claim_idle``, so a live node's work is never claimed by another."""
        opts = self.plugin_opts
        return min(float(opts["claim_every"]), float(opts["claim_idle"]) / 3)

    def _idle_long_enough(self, quiet_since: float, work: WorkStream) -> bool:
        """``stop_when_idle`` (batch jobs, benchmarks): nothing new, nothing pending anywhere."""
        limit = float(self.plugin_opts["stop_when_idle"])
        return limit > 0 and time.monotonic() - quiet_since >= limit and work.pending() == 0

    def _delivery(self, work: WorkStream, entry: Entry) -> Delivery:
        entry_id, fields, deliveries = entry
        scan_id = scan_id_for(work.stream, entry_id)
        limit = int(self.plugin_opts["max_deliveries"])
        if deliveries > limit:
            reason = work.dead_letter_entry(entry_id, fields, deliveries)
            error = f"delivered {deliveries} times (max_deliveries {limit}), moved to {work.dead_letter}: {reason}"
            return Delivery(Error(error, self.plugin_name, None, "scan"), entry_id, self, scan_id)
        try:
            item = decode(fields)
        except (ValueError, UnicodeDecodeError) as exc:
            work.nack(entry_id, f"malformed entry: {exc}")
            work.dead_letter_entry(entry_id, fields, deliveries)
            error = f"malformed entry {entry_id} moved to {work.dead_letter}: {exc}"
            return Delivery(Error(error, self.plugin_name, None, "scan"), entry_id, self, scan_id)
        return Delivery(item, entry_id, self, scan_id)

    def ack(self, tag: Any) -> None:
        """Every connector saved the entry's response: remove it from the stream (soon).

        Verdicts go to a thread that sends them in batches, so run mode's loop never waits on
        a round trip; a node killed before a batch is sent leaves those entries pending, to be
        scanned again under the same scan id.
        """
        self._verdict((str(tag), None))

    def nack(self, tag: Any, reason: str) -> None:
        """Leave the entry pending for another delivery after ``claim_idle``."""
        log.info("entry %s not saved (%s); left pending for redelivery", tag, reason)
        self._verdict((str(tag), reason))

    def _verdict(self, verdict: Verdict) -> None:
        with self._held_lock:
            self._held.discard(verdict[0])
        if self._settler is None:
            self._settler = threading.Thread(
                target=self._settle_loop, name="stoq-redis-acks", daemon=True
            )
            self._settler.start()
        self._verdicts.put(verdict)

    def _settle_loop(self) -> None:
        """Send queued verdicts, as many as are waiting, in one round trip each time."""
        done = False
        while not done:
            batch = [self._verdicts.get()]
            if batch[0] is not None:
                self._stopping.wait(GATHER)  # stop() sets it: what gathered goes out at once
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._verdicts.get_nowait())
                except Empty:
                    break
            done = None in batch
            verdicts = [v for v in batch if v is not None]
            acks = [entry for entry, reason in verdicts if reason is None]
            nacks = {entry: reason for entry, reason in verdicts if reason is not None}
            for _ in range(SETTLE_ATTEMPTS):
                try:
                    if acks or nacks:
                        self.work_stream().settle(acks, nacks)
                    break
                except redis.RedisError as exc:
                    log.warning("could not settle %d entries (%s)", len(verdicts), exc)
                    time.sleep(RETRY_AFTER)
            else:
                log.error("%d entries left pending: they will be delivered again", len(acks))

    # -- archiver --------------------------------------------------------------------------

    def archive(self, payload: Payload, request_meta: RequestMeta) -> Optional[ArchiverResponse]:
        """Store the payload once under its SHA-256 (``SET NX`` with ``payload_ttl``)."""
        key = f"{self.plugin_opts['payload_prefix']}{payload.sha256}"
        ttl = int(self.plugin_opts["payload_ttl"]) or None
        self.client.set(key, payload.content, nx=True, ex=ttl)
        return ArchiverResponse({"key": key, "sha256": payload.sha256})

    def get(self, task: Any) -> Optional[Payload]:
        """``{"key": ..., "sha256": ...}`` (what ``archive`` returned) back into a payload."""
        if not isinstance(task, dict) or not isinstance(task.get("key"), str):
            raise ValueError(f"archiver task {task!r:.80} is not {{'key': ..., 'sha256': ...}}")
        content = self.client.get(task["key"])
        if content is None:
            raise LookupError(f"payload {task['key']!r} is not in redis (expired or never stored)")
        if "sha256" in task and hashlib.sha256(content).hexdigest() != task["sha256"]:
            raise ValueError(f"payload {task['key']!r} does not match its SHA-256")
        return Payload(content, PayloadMeta(extra_data=task.get("extra_data") or {}))

    # -- connector -------------------------------------------------------------------------

    def save(self, response: StoqResponse) -> None:
        """The response under ``results_key_prefix + scan_id`` and/or on ``results_stream``."""
        opts = self.plugin_opts
        text = str(response)
        pipe = self.client.pipeline(transaction=False)
        if opts["results_key_prefix"]:
            ttl = int(opts["results_ttl"]) or None
            pipe.set(f"{opts['results_key_prefix']}{response.scan_id}", text, ex=ttl)
        if opts["results_stream"]:
            fields = {"scan_id": response.scan_id, "response": text}
            maxlen = int(opts["results_maxlen"]) or None
            pipe.xadd(str(opts["results_stream"]), fields, maxlen=maxlen, approximate=True)
        pipe.execute()

    # -- for stoq serve: submitting work and reading results --------------------------------

    def submit(
        self,
        content: bytes,
        extra_data: Optional[Dict[str, Any]] = None,
        dispatch_to: Optional[List[str]] = None,
    ) -> Submission:
        """Put one payload on the work stream (``stoq serve --submit-to redis``), within
        ``max_backlog``; the returned scan id is the one its response will carry."""
        if self._submitter is None:
            self._submitter = Submitter(self.plugin_opts)
        return self._submitter.submit(content, extra_data, dispatch_to)

    def fetch(self, scan_id: str) -> Optional[Dict[str, Any]]:
        """The response saved under ``scan_id`` (``stoq serve --results-from redis``), if any."""
        text = self.client.get(f"{self.plugin_opts['results_key_prefix']}{scan_id}")
        return None if text is None else dict(json.loads(text))
