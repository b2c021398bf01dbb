"""``idp audit verify|export`` and ``idp --dev`` as an operator (or a newcomer) runs them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from idp.store.sqlite import SqliteStore
from tests.test_cli import IDP, Idp, assert_one_clear_error


@pytest.fixture
def idp(tmp_path: Path) -> Idp:
    return Idp(tmp_path)


def _add(idp: Idp, email: str) -> None:
    added = idp("users", "add", email, "--password-stdin", stdin="a-long-password\n")
    assert added.returncode == 0, added.stderr


def test_audit_verify_and_export(idp: Idp) -> None:
    for n in range(3):
        _add(idp, f"u{n}@example.com")
    ok = idp("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    exported = idp("audit", "export")
    events = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["action"] for e in events].count("user.created") == 3
    assert all(e["actor"] == "cli" for e in events if e["action"] == "user.created")
    assert "$argon2" not in exported.stdout  # never a password hash
    later = idp("audit", "export", "--after", str(len(events) - 1))
    assert [json.loads(line)["seq"] for line in later.stdout.splitlines()] == [len(events)]

    target = events[1]
    with SqliteStore.open(idp.cwd / "store.db") as store:
        key = f"audit:event:{target['seq']:012d}"
        edited = dict(target, actor="someone-else")
        store.set(key, json.dumps(edited).encode())
    changed = idp("audit", "verify")
    assert_one_clear_error(changed, f"audit event {target['seq']}: changed after it was written")

    with SqliteStore.open(idp.cwd / "store.db") as store:
        store.set(key, json.dumps(target).encode())  # put back, then remove another
        assert idp("audit", "verify").returncode == 0
        store.delete(f"audit:event:{events[-1]['seq']:012d}")
    removed = idp("audit", "verify")
    assert_one_clear_error(removed, f"audit event {events[-1]['seq']}: missing")


def _bare_idp(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``idp`` as run in a fresh checkout: no config file, no IDP_* variables."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environment["IDP_PASSWORDS__ARGON2_TIME_COST"] = "1"
    environment["IDP_PASSWORDS__ARGON2_MEMORY_KIB"] = "8192"
    return subprocess.run([IDP, *args], input=stdin, capture_output=True, text=True, cwd=cwd,
                          env=environment, timeout=60, check=False)


def test_commands_in_a_dev_checkout_use_the_dev_servers_secrets(tmp_path: Path) -> None:
    # Before any dev server ran: the plain message, no hint about var/.
    first = _bare_idp(tmp_path, "users", "list")
    assert_one_clear_error(first, "required outside dev mode")
    assert "--dev" not in first.stderr
    # What `./scripts/run` (idp serve --dev) leaves behind: the secrets under var/.
    added = _bare_idp(tmp_path, "--dev", "users", "add", "new@example.com", "--password-stdin",
                      stdin="a-long-password\n")
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "var" / "dev-data-keys").exists()
    plain = _bare_idp(tmp_path, "users", "list")
    assert_one_clear_error(plain, "put --dev first to use them")
    assert "uv run idp --dev users add" in plain.stderr
    listed = _bare_idp(tmp_path, "--dev", "users", "list")
    assert listed.returncode == 0, listed.stderr
    assert "new@example.com" in listed.stdout
