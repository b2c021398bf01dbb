"""The audit stream kept in the store: append-only, each event chained to the one before.

Every event :class:`idp.observability.Audit` emits is also appended here (a listener wired in
:func:`idp.services.build_services`), as a record with a sequence number::

    {"seq", "at", "actor", "action", "target", "result", "reason", "request_id", "address",
     "details", "prev", "hash"}

``hash`` is SHA-256 over the previous event's hash and this event's canonical JSON (sorted
keys, no spaces, ``hash`` left out), so changing or removing any event breaks the chain from
there on and :meth:`AuditLog.verify` names the first broken link. The Store has no lists:
event ``n`` is the key ``audit:event:<n>``, written with ``Store.add`` (of racing writers
exactly one gets a number), and ``audit:head`` remembers the last number and hash. A writer
that finds the next number taken helps the head forward and tries the next one, so a writer
that died between the two steps blocks nobody.

This is tamper-*evident* against someone who edits the store, not tamper-proof: whoever can
rewrite every event and the head can forge a consistent chain. Export the stream (``idp
audit export``) to somewhere append-only to anchor it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from idp.observability import AuditEvent
from idp.store import Store, StoreError, dump_record, load_record

__all__ = ["GENESIS", "AuditLog", "Broken", "canonical", "chain_hash", "stream_event"]

GENESIS: Final = "0" * 64
_HEAD: Final = "audit:head"
_EVENT: Final = "audit:event:"
_MAX_ATTEMPTS: Final = 1000
# What becomes a top-level field of a stream event; the rest of a record goes to details.
_RESULT_WORDS: Final = ("failed", "failure", "refused", "denied", "rejected", "locked")


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def chain_hash(prev: str, event: dict[str, Any]) -> str:
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(prev.encode() + b"\n" + canonical(body)).hexdigest()


def stream_event(record: AuditEvent) -> dict[str, Any]:
    """The stream's shape of one emitted audit record (before numbering)."""
    rest = dict(record)
    action = str(rest.pop("event"))
    at = rest.pop("at")
    target = rest.pop("target", None) or rest.pop("user_id", None) or rest.get("client_id")
    result = rest.pop("result", None) or (
        "failure" if any(word in action for word in _RESULT_WORDS) else "success")
    return {
        "at": at,
        "actor": str(rest.pop("actor", "system")),
        "action": action,
        "target": None if target is None else str(target),
        "result": str(result),
        "reason": None if rest.get("reason") is None else str(rest.pop("reason")),
        "request_id": rest.pop("request_id", None),
        "address": rest.pop("address", None),
        "details": json.loads(canonical(rest)),
    }


@dataclass(frozen=True)
class Broken:
    """The first link of the chain that does not hold."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit event {self.seq}: {self.problem}"


def _event_key(seq: int) -> str:
    return f"{_EVENT}{seq:012d}"


class AuditLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    def listener(self, record: AuditEvent) -> None:
        """For ``Audit.listeners``."""
        self.append(stream_event(record))

    def _head(self) -> tuple[bytes | None, int, str]:
        raw = self._store.get(_HEAD)
        data = load_record(raw)
        if data is None:
            return None, 0, GENESIS
        return raw, int(data["seq"]), str(data["hash"])

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Number, chain and store one event; returns it as stored."""
        for _ in range(_MAX_ATTEMPTS):
            raw_head, last, prev = self._head()
            seq = last + 1
            taken = self.get(seq)
            if taken is not None:  # written by a writer that has not moved the head yet
                self._store.cas(_HEAD, raw_head, dump_record({"seq": seq, "hash": taken["hash"]}))
                continue
            stored = {**event, "seq": seq, "prev": prev}
            stored["hash"] = chain_hash(prev, stored)
            if self._store.add(_event_key(seq), canonical(stored)):
                self._store.cas(_HEAD, raw_head, dump_record({"seq": seq, "hash": stored["hash"]}))
                return stored
        raise StoreError("the audit stream kept moving; event not stored")

    def get(self, seq: int) -> dict[str, Any] | None:
        raw = self._store.get(_event_key(seq))
        if raw is None:
            return None
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise StoreError("a stored audit event is not a JSON object")
        return data

    def last_seq(self) -> int:
        last = self._head()[1]
        while self.get(last + 1) is not None:  # a head left behind by a writer that died
            last += 1
        return last

    def events(self, *, after: int = 0, since: float | None = None) -> Iterator[dict[str, Any]]:
        """Events in order, those numbered above ``after`` and (``since``) at or after a time.
        A missing number is skipped here; :meth:`verify` reports it."""
        last = self.last_seq()
        for seq in range(after + 1, last + 1):
            event = self.get(seq)
            if event is not None and (since is None or float(event["at"]) >= since):
                yield event

    def verify(self) -> tuple[int, Broken | None]:
        """(events checked, the first broken link or ``None``)."""
        prev = GENESIS
        last = self.last_seq()
        for seq in range(1, last + 1):
            event = self.get(seq)
            if event is None:
                return seq - 1, Broken(seq, "missing (removed from the store)")
            if event.get("seq") != seq:
                return seq - 1, Broken(seq, f"carries number {event.get('seq')!r}")
            if event.get("prev") != prev:
                return seq - 1, Broken(seq, "does not follow the event before it "
                                            "(that one was changed or removed)")
            if event.get("hash") != chain_hash(prev, event):
                return seq - 1, Broken(seq, "changed after it was written (hash mismatch)")
            prev = str(event["hash"])
        return last, None
