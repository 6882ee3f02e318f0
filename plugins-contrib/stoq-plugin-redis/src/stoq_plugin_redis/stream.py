"""The work stream as one consumer of its group sees it: read, claim, settle, dead-letter.

Every entry stays in the group's pending list from the moment it is read until ``ack``
(``XACK`` then ``XDEL``, in one transaction), so the stream's length is the work not yet
saved. A live consumer keeps resetting the idle time of the entries it holds; an entry whose
consumer went quiet for ``claim_idle`` seconds is claimed by whoever asks next
(``XAUTOCLAIM``), which counts one more delivery; the reason of the last ``nack``
is kept in a hash beside the stream, so the machine that dead-letters an entry can say why.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Tuple

import redis

from stoq_plugin_redis.wire import Fields

__all__ = ["Entry", "WorkStream"]

log = logging.getLogger("stoq.redis")

#: ``(entry id, fields, times delivered)``.
Entry = Tuple[str, Fields, int]
#: Copy the entry (ARGV[1], then field/value pairs) to the dead-letter stream KEYS[1] unless
#: the marks hash KEYS[2] says it was copied already; atomic in Redis.
_DEAD_LETTER_ONCE = """
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return false end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class WorkStream:
    """``stream`` read through consumer group ``group`` as ``consumer``."""

    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        group: str,
        consumer: str,
        dead_letter: str,
        claim_idle: float,
    ) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.dead_letter = dead_letter
        self.reasons = f"{stream}:nack-reasons"
        self.dead_marks = f"{stream}:dead-lettered"
        self._claim_idle_ms = int(claim_idle * 1000)
        self._cursor = "0-0"

    def ensure_group(self) -> None:
        """Create the group (and the stream) if missing; from the start, so nothing is skipped."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, count: int, block: float) -> List[Entry]:
        """New entries, at most ``count``, waiting up to ``block`` seconds for the first."""
        reply = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=int(block * 1000)
        )
        return [
            (_text(entry_id), fields, 1)
            for _, entries in reply or []
            for entry_id, fields in entries
            if entry_id is not None
        ]

    def claim(self, count: int) -> Tuple[List[Entry], bool]:
        """Entries idle past ``claim_idle`` in any consumer, now ours; and whether more wait."""
        reply = self.client.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=self._claim_idle_ms,
            start_id=self._cursor,
            count=count,
        )
        self._cursor = _text(reply[0])
        claimed: List[Entry] = []
        for entry_id, fields in reply[1]:
            if entry_id is None or fields is None:  # deleted while pending
                continue
            key = _text(entry_id)
            claimed.append((key, fields, self._deliveries(key)))
        return claimed, self._cursor != "0-0"

    def keep(self, entry_ids: List[str]) -> None:
        """Show the group this consumer is alive and still holds these entries: reset their
        idle time (``XCLAIM ... JUSTID``, which counts no delivery), so no one claims them."""
        if entry_ids:
            self.client.xclaim(self.stream, self.group, self.consumer, 0, entry_ids, justid=True)

    def _deliveries(self, entry_id: str) -> int:
        pending = self.client.xpending_range(
            self.stream, self.group, min=entry_id, max=entry_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 1

    def pending(self) -> int:
        """Entries read by some consumer and not yet acknowledged."""
        return int(self.client.xpending(self.stream, self.group)["pending"])

    def settle(self, acks: List[str], nacks: Dict[str, str]) -> None:
        """In one round trip: drop acknowledged entries from the group and the stream (their
        responses are saved); leave nacked ones pending, remembering why."""
        pipe = self.client.pipeline(transaction=True)
        if nacks:
            pipe.hset(self.reasons, mapping={k: v[:1000] for k, v in nacks.items()})
        if acks:
            pipe.xack(self.stream, self.group, *acks)
            pipe.xdel(self.stream, *acks)
            pipe.hdel(self.reasons, *acks)
            pipe.hdel(self.dead_marks, *acks)
        pipe.execute()

    def nack(self, entry_id: str, reason: str) -> None:
        """Leave the entry pending (claimed again after ``claim_idle``), remembering why."""
        self.settle([], {entry_id: reason})

    def last_reason(self, entry_id: str) -> str:
        reason = self.client.hget(self.reasons, entry_id)
        return _text(reason) if reason is not None else "no reason recorded"

    def dead_letter_entry(self, entry_id: str, fields: Fields, deliveries: int) -> str:
        """Copy the entry, with why it failed, to the dead-letter stream; returns the reason."""
        reason = self.last_reason(entry_id)
        copy: Dict[Any, Any] = dict(fields)
        copy.update(
            {
                "dead_entry_id": entry_id,
                "dead_stream": self.stream,
                "dead_deliveries": str(deliveries),
                "dead_reason": reason,
            }
        )
        args: List[Any] = [entry_id]
        for key, value in copy.items():
            args += [key, value]
        # Once per entry, even when a node dies before acknowledging it and another claims it.
        self.client.eval(_DEAD_LETTER_ONCE, 2, self.dead_letter, self.dead_marks, *args)
        log.warning(
            "entry %s of %s delivered %d times, moved to %s: %s",
            entry_id,
            self.stream,
            deliveries,
            self.dead_letter,
            reason,
        )
        return reason
