"""The audit stream in the store: numbered, chained, and a changed or removed event found."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from idp.audit import GENESIS, AuditLog, chain_hash, stream_event
from idp.observability import Audit, request_context
from idp.services import Services
from idp.store import Store


def _event(n: int) -> dict[str, object]:
    return stream_event({"event": "user.updated", "at": 1000.0 + n, "user_id": f"u{n}",
                         "actor": "cli", "fields": ["display_name"]})


def _fill(log: AuditLog, count: int) -> list[dict[str, object]]:
    return [log.append(_event(n)) for n in range(count)]


def _edit(store: Store, seq: int, edit: Callable[[dict[str, Any]], object]) -> None:
    """Change the stored event ``seq`` in place, as someone with access to the store could."""
    key = f"audit:event:{seq:012d}"
    event = json.loads(store.get(key) or b"")
    edit(event)
    store.set(key, json.dumps(event).encode())


def test_events_are_numbered_and_chained(store: Store) -> None:
    log = AuditLog(store)
    written = _fill(log, 4)
    assert [e["seq"] for e in written] == [1, 2, 3, 4]
    assert written[0]["prev"] == GENESIS
    for before, after in itertools.pairwise(written):
        assert after["prev"] == before["hash"]
        assert after["hash"] == chain_hash(str(before["hash"]), after)
    assert list(log.events()) == written
    assert [e["seq"] for e in log.events(after=2)] == [3, 4]
    assert [e["seq"] for e in log.events(since=1002.0)] == [3, 4]
    assert log.verify() == (4, None)


def test_an_edited_event_is_named(store: Store) -> None:
    log = AuditLog(store)
    _fill(log, 5)
    _edit(store, 3, lambda event: event.update(actor="someone-else"))
    checked, broken = log.verify()
    assert (checked, broken is not None and broken.seq) == (2, 3)
    assert broken is not None
    assert "changed" in broken.problem


def test_an_edit_that_recomputes_the_hash_breaks_the_next_link(store: Store) -> None:
    log = AuditLog(store)
    _fill(log, 5)

    def recompute(event: dict[str, Any]) -> None:
        event["result"] = "failure"
        event["hash"] = chain_hash(event["prev"], event)

    _edit(store, 2, recompute)
    _checked, broken = log.verify()
    assert broken is not None
    assert broken.seq == 3
    assert "does not follow" in broken.problem


def test_a_removed_event_is_named_in_the_middle_and_at_the_end(store: Store) -> None:
    log = AuditLog(store)
    _fill(log, 4)
    store.delete("audit:event:000000000004")
    last = log.verify()[1]
    assert last is not None
    assert last.seq == 4
    store.delete("audit:event:000000000002")
    broken = log.verify()[1]
    assert broken is not None
    assert broken.seq == 2
    assert "missing" in broken.problem


def test_racing_writers_get_distinct_numbers_and_one_chain(store: Store) -> None:
    log = AuditLog(store)
    with ThreadPoolExecutor(max_workers=8) as pool:
        written = list(pool.map(lambda n: log.append(_event(n)), range(80)))
    assert sorted(e["seq"] for e in written) == list(range(1, 81))
    assert log.verify() == (80, None)


def test_a_writer_that_died_before_moving_the_head_blocks_nobody(store: Store) -> None:
    log = AuditLog(store)
    _fill(log, 2)
    head = store.get("audit:head")
    log.append(_event(3))
    store.set("audit:head", head or b"")  # as if the head move of event 3 never happened
    assert log.append(_event(4))["seq"] == 4
    assert log.verify() == (4, None)


def test_emitted_events_reach_the_stream_with_request_and_address(services: Services) -> None:
    audit: Audit = services.audit
    with request_context(request_id="req-1", address="127.0.0.1"):
        audit.emit("user.deleted", user_id="u1", actor="client:ops", reason="left the company")
    audit.emit("login.password_failed", user_id="u2")
    *_, deleted, failed = services.audit_log.events()
    assert {k: deleted[k] for k in ("actor", "action", "target", "result", "reason",
                                    "request_id", "address")} == {
        "actor": "client:ops", "action": "user.deleted", "target": "u1", "result": "success",
        "reason": "left the company", "request_id": "req-1", "address": "127.0.0.1"}
    assert failed["result"] == "failure"
    assert failed["request_id"] is None
    assert failed["actor"] == "system"
