"""Nothing secret leaves the trusted-browser service: not in audit events, logs or the store."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from idp.devices import TrustedBrowsers
from idp.observability import AuditEvent
from idp.services import Services
from idp.users import User
from tests.devices.helpers import CHROME_WINDOWS, SAFARI_IPHONE, T0


def _nonce(cookie_value: str) -> str:
    part = cookie_value.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    nonce: str = payload["n"]
    return nonce


def test_no_nonce_cookie_or_key_in_audit_events_or_logs(
    services: Services,
    devices: TrustedBrowsers,
    alice: User,
    bob: User,
    events: list[AuditEvent],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip="203.0.113.1", now=T0)
    bobs = devices.trust(bob, user_agent=SAFARI_IPHONE, ip="203.0.113.2", now=T0)
    tampered = cookie.value[:-5] + ("AAAAA" if not cookie.value.endswith("AAAAA") else "BBBBB")
    for value, user in [
        (cookie.value, alice),  # trusted
        (tampered, alice),  # forged
        (bobs.value, alice),  # other_user
        ("garbage", alice),  # malformed
    ]:
        devices.check(user, value, fresh_2sv_required=False, ip="198.51.100.1",
                      user_agent=CHROME_WINDOWS, now=T0 + 60)
    [entry] = devices.list(alice, now=T0 + 60)
    devices.revoke(alice.id, entry.device_id, actor=alice.id)
    devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0 + 60)
    devices.revoke_all(bob.id, actor="admin")

    kinds = {e["event"] for e in events}
    assert {"device.trusted", "device.rejected", "device.revoked", "device.revoked_all"} <= kinds
    secrets = [
        cookie.value,
        cookie.value.rsplit(".", 1)[1],  # the signature alone
        _nonce(cookie.value),
        bobs.value,
        _nonce(bobs.value),
        *(k.get_secret_value() for k in services.settings.secrets.cookie_keys),
    ]
    written = [json.dumps(e, default=str) for e in events]
    written += [record.getMessage() for record in caplog.records]
    assert any("device.rejected" in line for line in written)  # the audit log was captured
    for line in written:
        for secret in secrets:
            assert secret not in line


def test_the_store_holds_only_the_nonce_hash(
    services: Services, devices: TrustedBrowsers, alice: User
) -> None:
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    nonce = _nonce(cookie.value)
    [key] = list(services.store.scan(f"tb:{alice.id}:"))
    raw = services.store.get(key)
    assert raw is not None
    record = json.loads(raw)
    assert record["v"] == 1
    assert nonce not in raw.decode()
    assert cookie.value not in raw.decode()
    assert set(record) == {
        "v", "device_id", "user_id", "nonce_sha256", "label", "created", "last_used", "ip",
        "expires", "epoch",
    }
    assert record["label"] == "Chrome 126 on Windows"
    assert record["epoch"] == alice.security_epoch
