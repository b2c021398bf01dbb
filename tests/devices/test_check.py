"""Trusting a browser and checking it at sign-in: every way a cookie can fail (T1-T5, C4)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable

import pytest
from itsdangerous import URLSafeSerializer

from idp.devices import TrustedBrowsers, TrustReason
from idp.devices.cookies import CookieCodec, CookiePayload
from idp.observability import AuditEvent
from idp.services import Services
from idp.users import User
from tests.devices.helpers import CHROME_WINDOWS, DAY, SAFARI_IPHONE, T0, rejections

LIFETIME = 30 * DAY
# Rounds of the check-versus-removal race: each lands the removal somewhere in a stream of checks.
ROUNDS = 200


def _payload(cookie_value: str) -> dict[str, object]:
    """Read a cookie's payload without verifying it, the way anyone holding it could."""
    part = cookie_value.split(".")[0]
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return data


def _change_one_char(value: str, index: int) -> str:
    # Flip a character in the middle of a base64url run to one 32 positions away, so its
    # significant bits change (a change confined to a final character's padding bits would
    # decode to the same bytes).
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    old = value[index]
    new = alphabet[(alphabet.index(old) + 32) % 64]
    return value[:index] + new + value[index + 1 :]


def test_trusted_browser_skips_the_code(devices: TrustedBrowsers, alice: User) -> None:
    # covers T1
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip="203.0.113.5", now=T0)
    result = devices.check(
        alice, cookie.value, fresh_2sv_required=False, ip="203.0.113.5", now=T0 + 60
    )
    assert result.trusted
    assert result.reason is TrustReason.TRUSTED
    assert result.device_id == _payload(cookie.value)["d"]


def test_a_new_ip_keeps_the_trust_and_is_recorded(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers T2: trust belongs to the browser, not the network
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip="203.0.113.5", now=T0)
    result = devices.check(
        alice, cookie.value, fresh_2sv_required=False, ip="198.51.100.77", now=T0 + DAY
    )
    assert result.trusted
    [entry] = devices.list(alice, now=T0 + DAY)
    assert entry.ip == "198.51.100.77"
    assert entry.last_used == T0 + DAY
    assert entry.created == T0
    assert rejections(events) == []


def test_no_cookie_asks_for_the_code_without_an_audit_event(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers T2: clearing the browser's cookies ends the trust
    devices.trust(alice, user_agent=CHROME_WINDOWS, ip="203.0.113.5", now=T0)
    for value in (None, ""):
        result = devices.check(alice, value, fresh_2sv_required=False, ip="203.0.113.5", now=T0)
        assert not result.trusted
        assert result.reason is TrustReason.ABSENT
    assert rejections(events) == []


def test_fresh_second_factor_request_ignores_the_cookie_quietly(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers T5: acr_values / max_age get a code even on a trusted browser
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip="203.0.113.5", now=T0)
    result = devices.check(
        alice, cookie.value, fresh_2sv_required=True, ip="198.51.100.77", now=T0 + 60
    )
    assert not result.trusted
    assert result.reason is TrustReason.FRESH_2SV_REQUIRED
    assert rejections(events) == []  # a normal request, not an attack
    [entry] = devices.list(alice, now=T0 + 60)
    assert entry.last_used == T0  # not counted as a use
    assert entry.ip == "203.0.113.5"
    # and the browser stays trusted for ordinary requests
    assert devices.check(
        alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0 + 120
    ).trusted


def test_cookie_signed_with_another_key_is_forged(
    devices: TrustedBrowsers,
    devices_with: Callable[..., TrustedBrowsers],
    alice: User,
    events: list[AuditEvent],
) -> None:
    # covers T4: a forged cookie is ignored and audited. The forger's record even exists in
    # the store (same store, other key): the signature alone refuses it.
    forger = devices_with(secrets={"cookie_keys": ["an-attacker-chosen-key-0000"]})
    forged = forger.trust(alice, user_agent=CHROME_WINDOWS, ip="192.0.2.66", now=T0)
    assert forged.name != devices.cookie_name(alice.id)
    events.clear()
    result = devices.check(
        alice, forged.value, fresh_2sv_required=False, ip="192.0.2.66",
        user_agent=CHROME_WINDOWS, now=T0,
    )
    assert not result.trusted
    assert result.reason is TrustReason.FORGED
    assert result.device_id is None  # an unverified id is not repeated back
    [event] = [e for e in events if e["event"] == "device.rejected"]
    assert event["reason"] == "forged"
    assert event["user_id"] == alice.id
    assert event["ip"] == "192.0.2.66"
    assert event["label"] == "Chrome 126 on Windows"
    assert "device_id" not in event


def test_cookie_from_plain_itsdangerous_is_forged(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers T4: someone who guesses the format but not the key (itsdangerous defaults)
    value = URLSafeSerializer("guess", salt="nidan.trusted-browser.v1").dumps(
        {"d": "A" * 22, "u": alice.id, "n": "B" * 43, "e": int(T0 + DAY)}
    )
    result = devices.check(alice, value, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.FORGED
    assert rejections(events) == ["forged"]


@pytest.mark.parametrize("where", ["payload", "signature"])
def test_cookie_with_one_character_changed_is_rejected(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent], where: str
) -> None:
    # covers T4: a tampered cookie is ignored and audited (HMAC cannot tell tampering from
    # forgery, so the reason is "forged")
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    payload_part = cookie.value.rsplit(".", 1)[0]
    index = 10 if where == "payload" else len(payload_part) + 1 + 20
    tampered = _change_one_char(cookie.value, index)
    assert tampered != cookie.value
    events.clear()
    result = devices.check(alice, tampered, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.FORGED
    assert rejections(events) == ["forged"]
    # the genuine cookie still works
    assert devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0).trusted


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "no-signature-here.",
        "a.b",  # too short to be a signature
        "eyJkIjoiQSJ9.$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$",
        "x" * 5000 + "." + "y" * 43,
        "ünïcödé.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq",
    ],
)
def test_malformed_cookie_is_rejected_and_audited(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent], value: str
) -> None:
    # covers T4
    result = devices.check(alice, value, fresh_2sv_required=False, ip="192.0.2.1", now=T0)
    assert not result.trusted
    assert result.reason is TrustReason.MALFORMED
    assert rejections(events) == ["malformed"]


def test_signed_payload_of_the_wrong_shape_is_malformed(
    services: Services, devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # Only a key holder can sign; a payload of another format (a future version, a bug) is
    # refused as malformed rather than trusted or called a forgery.
    keys = [k.get_secret_value() for k in services.settings.secrets.cookie_keys]
    serializer = URLSafeSerializer(
        keys, salt=b"nidan.trusted-browser.v1",
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )
    value = serializer.dumps({"d": "A" * 22, "u": alice.id})
    result = devices.check(alice, value, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.MALFORMED
    assert rejections(events) == ["malformed"]


def test_expired_cookie_is_rejected_and_audited(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers T4: a trusted browser expires after 30 days (time travel, no sleeping)
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    assert devices.check(
        alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0 + LIFETIME - 60
    ).trusted
    result = devices.check(
        alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0 + LIFETIME + 1
    )
    assert result.reason is TrustReason.EXPIRED
    assert rejections(events) == ["expired"]
    assert devices.list(alice, now=T0 + LIFETIME + 1) == []


def test_expired_server_record_is_rejected_even_if_the_cookie_says_otherwise(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers T4: the record is the authority. Trusting at T0 + 0.5 makes the record expire at
    # a half second, the signed expiry (whole seconds, rounded up) half a second later.
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0 + 0.5)
    at = T0 + 0.5 + LIFETIME
    signed_expiry = _payload(cookie.value)["e"]
    assert isinstance(signed_expiry, int)
    assert signed_expiry > at
    result = devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=at)
    assert result.reason is TrustReason.EXPIRED
    assert rejections(events) == ["expired"]


def test_another_persons_cookie_is_rejected_and_audited(
    devices: TrustedBrowsers, alice: User, bob: User, events: list[AuditEvent]
) -> None:
    # covers T4: "other person's cookie"
    bobs = devices.trust(bob, user_agent=SAFARI_IPHONE, ip="203.0.113.9", now=T0)
    events.clear()
    result = devices.check(alice, bobs.value, fresh_2sv_required=False, ip="192.0.2.5", now=T0)
    assert not result.trusted
    assert result.reason is TrustReason.OTHER_USER
    [event] = [e for e in events if e["event"] == "device.rejected"]
    assert event["reason"] == "other_user"
    assert event["user_id"] == alice.id
    assert event["presented_user_id"] == bob.id
    # Bob's own trust is untouched.
    assert devices.check(bob, bobs.value, fresh_2sv_required=False, ip=None, now=T0).trusted


def test_removed_browser_is_rejected_at_once_and_audited(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers T3, T4: removal takes effect at once (every check reads the record)
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    [entry] = devices.list(alice, now=T0)
    assert devices.revoke(alice.id, entry.device_id, actor=alice.id)
    assert not devices.revoke(alice.id, entry.device_id, actor=alice.id)  # already gone
    result = devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.UNKNOWN
    assert result.device_id == entry.device_id
    assert rejections(events) == ["unknown"]
    [revoked] = [e for e in events if e["event"] == "device.revoked"]
    assert revoked["device_id"] == entry.device_id
    assert revoked["actor"] == alice.id
    assert revoked["label"] == "Chrome 126 on Windows"


def test_a_removal_request_cannot_reach_another_persons_browser(
    devices: TrustedBrowsers, alice: User, bob: User
) -> None:
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    [entry] = devices.list(alice, now=T0)
    assert not devices.revoke(bob.id, entry.device_id, actor=bob.id)
    assert not devices.revoke(alice.id, "not-a-device-id", actor=alice.id)
    assert devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0).trusted


def test_remove_all(devices: TrustedBrowsers, alice: User, bob: User) -> None:
    # covers T3: "or all at once"
    first = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    second = devices.trust(alice, user_agent=SAFARI_IPHONE, ip=None, now=T0 + 1)
    bobs = devices.trust(bob, user_agent=SAFARI_IPHONE, ip=None, now=T0)
    assert devices.revoke_all(alice.id, actor="admin") == 2
    for cookie in (first, second):
        result = devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0)
        assert result.reason is TrustReason.UNKNOWN
    assert devices.list(alice, now=T0) == []
    assert devices.check(bob, bobs.value, fresh_2sv_required=False, ip=None, now=T0).trusted


def test_signed_cookie_with_the_wrong_nonce_is_rejected(
    services: Services, devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # A key holder's counterfeit (a leaked key) for a real device: the record's nonce hash
    # still refuses it.
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    genuine = _payload(cookie.value)
    codec = CookieCodec(
        [k.get_secret_value() for k in services.settings.secrets.cookie_keys], secure=False
    )
    counterfeit = codec.dumps(
        CookiePayload(
            device_id=str(genuine["d"]), user_id=alice.id, nonce="N" * 43,
            expires=int(str(genuine["e"])),
        )
    )
    result = devices.check(alice, counterfeit, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.NONCE_MISMATCH
    assert rejections(events) == ["nonce_mismatch"]
    assert devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0).trusted


def test_password_change_ends_every_trusted_browser(
    services: Services, devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers C4: the security epoch changed
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    services.accounts.set_password(alice.id, "a brand new passphrase", actor=alice.id)
    changed = services.accounts.get(alice.id)
    assert changed is not None
    assert changed.security_epoch == alice.security_epoch + 1
    result = devices.check(changed, cookie.value, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.EPOCH
    assert rejections(events) == ["epoch"]
    assert devices.list(changed, now=T0) == []


def test_change_of_methods_or_recovery_codes_ends_trust(
    services: Services, devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers C4: methods and recovery codes bump the epoch through Accounts.bump_epoch
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    changed = services.accounts.bump_epoch(alice.id, reason="methods_changed")
    result = devices.check(changed, cookie.value, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.EPOCH
    # A caller holding the User from before the change is refused too: the new browser it
    # would trust carries the old epoch.
    stale_trust = devices.trust(alice, user_agent=SAFARI_IPHONE, ip=None, now=T0)
    result = devices.check(changed, stale_trust.value, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.EPOCH
    assert rejections(events) == ["epoch", "epoch"]


def test_on_security_change_removes_the_records(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # covers C4 (belt and braces: the listing is honest even before the epoch is compared)
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    assert devices.on_security_change(alice.id, reason="password_changed") == 1
    assert devices.list(alice, now=T0) == []
    result = devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0)
    assert result.reason is TrustReason.UNKNOWN
    [event] = [e for e in events if e["event"] == "device.revoked_all"]
    assert event["reason"] == "password_changed"
    assert event["count"] == 1


def test_a_check_racing_a_removal_never_brings_the_browser_back(
    devices: TrustedBrowsers, alice: User
) -> None:
    # covers T4: "removal takes effect at once". A check reads the record, then writes the new
    # last-used time; were that write blind, a removal landing in between would be undone.
    # Real threads on the real SQLite store; whatever the interleaving, removed means removed.
    for _ in range(ROUNDS):
        cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
        [entry] = devices.list(alice, now=T0)
        started, stop = threading.Event(), threading.Event()

        def sign_ins(
            value: str = cookie.value,
            started: threading.Event = started,
            stop: threading.Event = stop,
        ) -> None:
            while not stop.is_set():
                devices.check(alice, value, fresh_2sv_required=False, ip=None, now=T0 + 1)
                started.set()

        worker = threading.Thread(target=sign_ins)
        worker.start()
        started.wait()
        devices.revoke(alice.id, entry.device_id, actor=alice.id)
        stop.set()
        worker.join()
        result = devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0)
        assert result.reason is TrustReason.UNKNOWN
        assert devices.list(alice, now=T0) == []
