"""``idp users import``: all or nothing, every bad line named, idempotent by email (A2)."""

from __future__ import annotations

import json
from pathlib import Path

import bcrypt
import pytest

from idp.services import Services
from idp.users.importing import ImportError_, import_users


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def snapshot(services: Services) -> dict[str, bytes | None]:
    """Everything in the store but the audit stream (the record of the attempt itself)."""
    return {key: services.store.get(key) for key in sorted(services.store.scan(""))
            if not key.startswith("audit:")}


def test_import_creates_users_with_hashes_and_passwords(services: Services, tmp_path: Path) -> None:
    legacy = bcrypt.hashpw(b"legacy-password", bcrypt.gensalt(rounds=4)).decode()
    path = write_lines(tmp_path / "users.jsonl", [
        {"email": "a@example.com", "name": "A", "locale": "en", "password_hash": legacy},
        {"email": "b@example.com", "name": "B", "password": "plain-password"},
        {"email": "c@example.com"},
    ])
    report = import_users(path, services.accounts, None, services.audit)
    assert report.created == 3
    a = services.accounts.find_by_email("A@example.com")
    b = services.accounts.find_by_email("b@example.com")
    assert a is not None
    assert b is not None
    assert a.locale == "en"
    assert a.display_name == "A"
    assert services.accounts.check_password(a, "legacy-password")
    assert b.password_hash is not None
    assert b.password_hash.startswith("$argon2id$")
    assert services.accounts.check_password(b, "plain-password")


def test_one_bad_line_imports_nothing_and_names_it(services: Services, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "users.jsonl", [
        {"email": "ok1@example.com", "password": "long-enough"},
        {"email": "ok2@example.com", "password": "short"},
        "{not json",
        {"email": "not-an-email"},
        {"email": "ok1@EXAMPLE.com"},
        {"email": "x@example.com", "password_hash": "md5:abc"},
        {"email": "y@example.com", "colour": "red"},
        {"email": "z@example.com", "password": "long-enough", "password_hash": "$2b$..."},
        [1, 2],
    ])
    before = snapshot(services)
    with pytest.raises(ImportError_) as caught:
        import_users(path, services.accounts, None, services.audit)
    problems = caught.value.problems
    assert sorted(int(p.split(":")[0].removeprefix("line ")) for p in problems) == [
        2, 3, 4, 5, 6, 7, 8, 9,
    ]
    text = "\n".join(problems)
    assert "line 2: a password needs at least 8 characters" in text
    assert "line 3: not valid JSON" in text
    assert "line 4: not an email address" in text
    assert "line 5: email also on line 1" in text
    assert "line 6: unsupported password_hash" in text
    assert "line 7: colour: Extra inputs are not permitted" in text
    assert "line 8: give either password or password_hash" in text
    assert "line 9: expected a JSON object" in text
    assert "short" not in text  # a password is never echoed
    assert snapshot(services) == before


def test_second_import_changes_nothing(services: Services, tmp_path: Path) -> None:
    rows: list[object] = [{"email": f"user{i}@example.com", "name": f"U{i}"} for i in range(50)]
    path = write_lines(tmp_path / "users.jsonl", rows)
    first = import_users(path, services.accounts, None, services.audit)
    after_first = snapshot(services)
    second = import_users(path, services.accounts, None, services.audit)
    assert (first.created, first.unchanged) == (50, 0)
    assert (second.created, second.unchanged) == (0, 50)
    assert snapshot(services) == after_first


def test_existing_user_is_left_alone(services: Services, tmp_path: Path) -> None:
    user = services.accounts.create("keep@example.com", display_name="Keep", password="original-pw")
    path = write_lines(tmp_path / "u.jsonl", [
        {"email": "KEEP@example.com", "name": "Changed", "password": "another-password"},
    ])
    report = import_users(path, services.accounts, None, services.audit)
    assert (report.created, report.unchanged) == (0, 1)
    kept = services.accounts.get(user.id)
    assert kept == user


def test_unreadable_file(services: Services, tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="cannot read"):
        import_users(tmp_path / "missing.jsonl", services.accounts, None, services.audit)


def test_ten_thousand_lines_import_once_and_then_change_nothing(
    services: Services, tmp_path: Path
) -> None:
    hashed = services.accounts.passwords.hash("imported-password")
    rows: list[object] = [
        {"email": f"seller{i}@example.com", "name": f"Seller {i}", "password_hash": hashed}
        for i in range(10_000)
    ]
    path = write_lines(tmp_path / "big.jsonl", rows)
    first = import_users(path, services.accounts, None, services.audit)
    assert first.created == 10_000
    after_first = snapshot(services)
    assert len(after_first) == 20_000  # a record and an email index per user
    second = import_users(path, services.accounts, None, services.audit)
    assert (second.created, second.unchanged) == (0, 10_000)
    assert snapshot(services) == after_first
