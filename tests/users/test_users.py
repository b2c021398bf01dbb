"""Accounts on a real SQLite store: uniqueness, updates, epochs, rehash on sign-in."""

from __future__ import annotations

import threading

import bcrypt
import pytest
from tests.races import winners

from idp.observability import AuditEvent
from idp.services import Services
from idp.users import Accounts, EmailTaken, InvalidEmail, UserNotFound, normalise_email


def test_email_is_unique_case_insensitively(services: Services) -> None:
    accounts = services.accounts
    user = accounts.create("Seller@Example.COM", display_name="Seller", password="long-enough")
    with pytest.raises(EmailTaken):
        accounts.create("seller@example.com")
    with pytest.raises(EmailTaken):
        accounts.create("  SELLER@example.com ")  # NFKC + trim + casefold
    found = accounts.find_by_email("sElLeR@eXaMpLe.CoM")
    assert found is not None
    assert found.id == user.id
    assert found.email == "Seller@Example.COM"  # shown as given


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b", "a b@example.com", "@example.com"])
def test_bad_emails(bad: str) -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(bad)


def test_fullwidth_email_normalises() -> None:
    assert normalise_email("ＳＥＬＬＥＲ＠example.com") == "seller@example.com"


def test_ids_are_random_and_stable(services: Services) -> None:
    a = services.accounts.create("a@example.com")
    b = services.accounts.create("b@example.com")
    assert a.id != b.id
    assert len(a.id) >= 22  # 128 bits
    updated = services.accounts.update(a.id, display_name="A")
    assert updated.id == a.id


def test_password_never_appears_in_public_views(services: Services) -> None:
    user = services.accounts.create("p@example.com", password="a-secret-password")
    assert user.password_hash is not None
    assert user.password_hash not in repr(user)
    assert "password_hash" not in user.public()
    assert user.public()["has_password"] is True


def test_concurrent_creates_of_one_email_make_one_account(services: Services) -> None:
    won = winners(16, lambda _: services.accounts.create("race@example.com"), EmailTaken)
    results = ["created" if created else "taken" for created in won]
    assert results.count("created") == 1
    assert results.count("taken") == 15
    assert sum(1 for _ in services.accounts.all()) == 1


def test_concurrent_epoch_bumps_lose_nothing(services: Services) -> None:
    user = services.accounts.create("epoch@example.com")

    def bump() -> None:
        for _ in range(10):
            services.accounts.bump_epoch(user.id, reason="test")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    current = services.accounts.get(user.id)
    assert current is not None
    assert current.security_epoch == 1 + 4 * 10  # no bump lost to a race


def test_set_password_bumps_epoch_and_audits(services: Services) -> None:
    events: list[AuditEvent] = []
    services.audit.listeners.append(events.append)
    user = services.accounts.create("pw@example.com", password="first-password")
    updated = services.accounts.set_password(user.id, "second-password")
    assert updated.security_epoch == user.security_epoch + 1
    assert services.accounts.check_password(updated, "second-password")
    assert not services.accounts.check_password(updated, "first-password")
    assert events[-1]["event"] == "user.updated"
    assert events[-1]["fields"] == ["security_epoch", "password"]
    assert all("second-password" not in str(event) for event in events)


def test_imported_bcrypt_hash_is_upgraded_on_success(services: Services) -> None:
    legacy = bcrypt.hashpw(b"legacy-password", bcrypt.gensalt(rounds=4)).decode()
    user = services.accounts.create("legacy@example.com", password_hash=legacy)
    assert not services.accounts.check_password(user, "wrong-password")
    assert services.accounts.get(user.id).password_hash == legacy  # type: ignore[union-attr]
    assert services.accounts.check_password(user, "legacy-password")
    upgraded = services.accounts.get(user.id)
    assert upgraded is not None
    assert upgraded.password_hash is not None
    assert upgraded.password_hash.startswith("$argon2id$")
    assert services.accounts.check_password(upgraded, "legacy-password")


def test_disable_enable_delete(services: Services) -> None:
    accounts: Accounts = services.accounts
    user = accounts.create("d@example.com")
    assert not accounts.set_status(user.id, "disabled").active
    assert accounts.set_status(user.id, "active").active
    accounts.delete(user.id)
    assert accounts.get(user.id) is None
    assert accounts.find_by_email("d@example.com") is None
    with pytest.raises(UserNotFound):
        accounts.delete(user.id)
    accounts.create("d@example.com")  # the email is free again
