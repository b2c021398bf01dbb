"""The cookie itself: name, attributes, key rotation and keys (DESIGN "Trusted browsers")."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from idp.devices import CookieKeyError, TrustedBrowsers, TrustReason
from idp.observability import Audit, AuditEvent
from idp.settings import SettingsError
from idp.store import Store
from idp.users import User
from tests.conftest import make_settings
from tests.devices.helpers import CHROME_WINDOWS, T0, rejections

OLD_KEY = "old-cookie-key-aaaaaaaaaaaaaaaa"
NEW_KEY = "new-cookie-key-bbbbbbbbbbbbbbbb"


def _attributes(header: str) -> tuple[str, dict[str, str]]:
    """``name=value`` and the attributes of a Set-Cookie header, lower-cased names."""
    first, *rest = [part.strip() for part in header.split(";")]
    attrs = {}
    for part in rest:
        name, _, value = part.partition("=")
        attrs[name.lower()] = value
    return first, attrs


def test_https_cookie_is_host_prefixed_and_secure(
    devices_with: Callable[..., TrustedBrowsers], alice: User
) -> None:
    # DESIGN "Running": __Host- and Secure over https
    devices = devices_with(server={"issuer": "https://id.example.com"})
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    assert cookie.name.startswith("__Host-nidan_tb_")
    assert cookie.name == devices.cookie_name(alice.id)
    first, attrs = _attributes(cookie.header())
    assert first == f"{cookie.name}={cookie.value}"
    # __Host- demands Secure, Path=/ and no Domain (RFC 6265bis 4.1.3.2).
    assert "secure" in attrs
    assert attrs["path"] == "/"
    assert "domain" not in attrs
    assert "httponly" in attrs
    assert attrs["samesite"] == "Lax"
    assert attrs["max-age"] == str(30 * 24 * 3600)
    assert cookie.set_cookie_kwargs() == {
        "key": cookie.name, "value": cookie.value, "max_age": 30 * 24 * 3600, "path": "/",
        "secure": True, "httponly": True, "samesite": "lax",
    }


def test_dev_http_cookie_drops_prefix_and_secure(
    devices_with: Callable[..., TrustedBrowsers], alice: User
) -> None:
    # DESIGN "Running": browsers refuse __Host- and Secure on plain http
    devices = devices_with(server={"dev": True, "issuer": "http://127.0.0.1:8000"})
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    assert cookie.name.startswith("nidan_tb_")
    _, attrs = _attributes(cookie.header())
    assert "secure" not in attrs
    assert "httponly" in attrs
    assert attrs["samesite"] == "Lax"
    assert attrs["path"] == "/"
    assert cookie.set_cookie_kwargs()["secure"] is False


def test_cookie_name_neither_reveals_nor_tests_a_user_id(
    devices: TrustedBrowsers,
    devices_with: Callable[..., TrustedBrowsers],
    alice: User,
    bob: User,
) -> None:
    name = devices.cookie_name(alice.id)
    suffix = name.removeprefix("nidan_tb_")
    assert len(suffix) == 16
    assert int(suffix, 16) >= 0
    assert alice.id not in name
    # Not a plain hash either: without the key nobody can compute it from a guessed id.
    for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5):
        assert suffix not in digest(alice.id.encode()).hexdigest()
    assert devices.cookie_name(alice.id) == name  # stable
    assert devices.cookie_name(bob.id) != name  # per person
    other_key = devices_with(secrets={"cookie_keys": ["some-other-deployment-key"]})
    assert other_key.cookie_name(alice.id) != name  # keyed


def test_issued_cookie_repr_hides_the_value(devices: TrustedBrowsers, alice: User) -> None:
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    assert cookie.value not in repr(cookie)
    assert cookie.value not in str(cookie)


def test_clear_cookies_expire_every_name(
    devices_with: Callable[..., TrustedBrowsers], alice: User
) -> None:
    devices = devices_with(
        server={"issuer": "https://id.example.com"},
        secrets={"cookie_keys": [NEW_KEY, OLD_KEY]},
    )
    cleared = devices.clear_cookies(alice.id)
    assert [c.name for c in cleared] == list(devices.cookie_names(alice.id))
    assert len(cleared) == 2
    for cookie in cleared:
        assert cookie.value == ""
        assert cookie.max_age == 0
        assert cookie.secure  # a __Host- cookie can only be cleared by a Secure one


def test_find_cookie_among_a_requests_cookies(
    devices: TrustedBrowsers, alice: User, bob: User
) -> None:
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    bobs = devices.trust(bob, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    jar = {"session": "x", cookie.name: cookie.value, bobs.name: bobs.value}
    assert devices.find_cookie(alice.id, jar) == cookie.value
    assert devices.find_cookie(bob.id, jar) == bobs.value
    assert devices.find_cookie(alice.id, {"session": "x"}) is None


def test_key_rotation_old_cookies_verify_new_ones_use_the_newest_key(
    devices_with: Callable[..., TrustedBrowsers], alice: User, events: list[AuditEvent]
) -> None:
    # "keys rotate: newest signs, all verify"; settings list keys newest first
    before = devices_with(secrets={"cookie_keys": [OLD_KEY]})
    old_cookie = before.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)

    rotated = devices_with(secrets={"cookie_keys": [NEW_KEY, OLD_KEY]})
    # The old cookie is found under its old name and still verifies.
    assert rotated.cookie_names(alice.id) == (
        devices_with(secrets={"cookie_keys": [NEW_KEY]}).cookie_name(alice.id),
        old_cookie.name,
    )
    assert rotated.find_cookie(alice.id, {old_cookie.name: old_cookie.value}) == old_cookie.value
    assert rotated.check(
        alice, old_cookie.value, fresh_2sv_required=False, ip=None, now=T0
    ).trusted

    # A new cookie gets the newest key's name and signature: the new key alone accepts it,
    # the old key alone does not.
    new_cookie = rotated.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    assert new_cookie.name == rotated.cookie_name(alice.id) != old_cookie.name
    only_new = devices_with(secrets={"cookie_keys": [NEW_KEY]})
    only_old = devices_with(secrets={"cookie_keys": [OLD_KEY]})
    assert only_new.check(
        alice, new_cookie.value, fresh_2sv_required=False, ip=None, now=T0
    ).trusted
    events.clear()
    refused = only_old.check(alice, new_cookie.value, fresh_2sv_required=False, ip=None, now=T0)
    assert refused.reason is TrustReason.FORGED

    # Once the old key is removed, its cookies fail.
    refused = only_new.check(alice, old_cookie.value, fresh_2sv_required=False, ip=None, now=T0)
    assert refused.reason is TrustReason.FORGED
    assert rejections(events) == ["forged", "forged"]


def test_trusted_browsers_need_a_cookie_key(tmp_path: Path, store: Store) -> None:
    no_keys = make_settings(tmp_path, server={"dev": True}, secrets={"cookie_keys": []})
    with pytest.raises(CookieKeyError, match=r"secrets\.cookie_keys"):
        TrustedBrowsers(store, no_keys, Audit())
    short = make_settings(tmp_path, secrets={"cookie_keys": [NEW_KEY, "tooshort"]})
    with pytest.raises(SettingsError, match="key 2 is shorter") as caught:
        TrustedBrowsers(store, short, Audit())
    assert "tooshort" not in str(caught.value)
