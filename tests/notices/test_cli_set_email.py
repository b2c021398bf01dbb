"""``idp users set-email``: the address changes, the old one is told and the new one sent a
confirmation link (queued in the store for the servers' worker), a taken address refused."""

from __future__ import annotations

import json
from pathlib import Path

from idp.store.sqlite import SqliteStore
from tests.test_cli import Idp, assert_one_clear_error


def test_set_email_queues_two_notices(tmp_path: Path) -> None:
    idp = Idp(tmp_path)
    with idp.config.open("a") as config:
        config.write('[notifications]\nemail = ["outbox"]\n'
                     '[delivery.transports.outbox]\npath = "outbox.jsonl"\n')
    for address in ("old@example.com", "other@example.com"):
        added = idp("users", "add", address, "--password-stdin", stdin="a-long-password\n")
        assert added.returncode == 0, added.stderr
    changed = idp("users", "set-email", "old@example.com", "new@example.com")
    assert changed.returncode == 0, changed.stderr
    shown = json.loads(idp("users", "show", "new@example.com", "--json").stdout)
    assert shown["email"] == "new@example.com"
    assert shown["verified_email"] is None
    assert_one_clear_error(idp("users", "set-email", "other@example.com", "new@example.com"),
                           "already exists")
    with SqliteStore.open(idp.cwd / "store.db") as store:
        pending = store.smembers("notice-pending")
        kinds = sorted(json.loads(store.get(f"notice:{n}") or b"{}")["kind"] for n in pending)
    assert kinds == ["email_changed", "verify_email"]
