"""The settings page's list, the cap, and the many-browsers flag (T3, T4, A1)."""

from __future__ import annotations

import time

from idp.devices import TrustedBrowsers, TrustReason
from idp.observability import AuditEvent
from idp.services import Services
from idp.users import User
from tests.devices.helpers import CHROME_WINDOWS, DAY, SAFARI_IPHONE, T0

FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_list_is_newest_first_with_what_a_person_recognises(
    devices: TrustedBrowsers, alice: User
) -> None:
    # covers T3: browser and OS, when added, last used, IP
    devices.trust(alice, user_agent=CHROME_WINDOWS, ip="203.0.113.1", now=T0)
    devices.trust(alice, user_agent=SAFARI_IPHONE, ip="203.0.113.2", now=T0 + 60)
    devices.trust(alice, user_agent=FIREFOX_UBUNTU, ip="2001:db8::1", now=T0 + 120)
    listed = devices.list(alice, now=T0 + 180)
    assert [b.label for b in listed] == [
        "Firefox 128 on Ubuntu",
        "Safari on iPhone",
        "Chrome 126 on Windows",
    ]
    assert [b.name for b in listed] == [b.label for b in listed]  # no duplicates to number
    assert [b.created for b in listed] == [T0 + 120, T0 + 60, T0]
    assert [b.ip for b in listed] == ["2001:db8::1", "203.0.113.2", "203.0.113.1"]
    assert all(b.expires == b.created + 30 * DAY for b in listed)
    assert len({b.device_id for b in listed}) == 3
    assert devices.count(alice, now=T0 + 180) == 3


def test_two_identical_browsers_are_never_indistinguishable(
    devices: TrustedBrowsers, alice: User
) -> None:
    # covers T3: two Chrome-on-Windows entries (home and office)
    devices.trust(alice, user_agent=CHROME_WINDOWS, ip="203.0.113.1", now=T0)
    devices.trust(alice, user_agent=CHROME_WINDOWS, ip="203.0.113.1", now=T0 + 5)
    newer, older = devices.list(alice, now=T0 + 10)
    assert newer.label == older.label == "Chrome 126 on Windows"
    assert older.name == "Chrome 126 on Windows (1)"
    assert newer.name == "Chrome 126 on Windows (2)"
    assert newer.created != older.created
    assert newer.device_id != older.device_id


def test_the_eleventh_browser_drops_the_oldest(
    devices: TrustedBrowsers, alice: User, events: list[AuditEvent]
) -> None:
    # issue: a cap per user, default 10, oldest dropped
    cookies = [
        devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0 + i * 60)
        for i in range(11)
    ]
    listed = devices.list(alice, now=T0 + 11 * 60)
    assert len(listed) == 10
    assert [b.created for b in listed] == [T0 + i * 60 for i in range(10, 0, -1)]
    oldest = devices.check(alice, cookies[0].value, fresh_2sv_required=False, ip=None,
                           now=T0 + 11 * 60)
    assert oldest.reason is TrustReason.UNKNOWN
    for cookie in cookies[1:]:
        assert devices.check(
            alice, cookie.value, fresh_2sv_required=False, ip=None, now=T0 + 11 * 60
        ).trusted
    [dropped] = [e for e in events if e["event"] == "device.revoked"]
    assert dropped["reason"] == "cap"
    assert dropped["actor"] == "system"
    assert dropped["device_id"] == oldest.device_id


def test_cap_is_configurable_and_keeps_the_newest(services: Services, alice: User) -> None:
    devices = TrustedBrowsers(services.store, services.settings, services.audit, max_per_user=2)
    devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0 + 10)
    devices.trust(alice, user_agent=SAFARI_IPHONE, ip=None, now=T0 + 20)
    newest = devices.trust(alice, user_agent=FIREFOX_UBUNTU, ip=None, now=T0 + 30)
    assert [b.label for b in devices.list(alice, now=T0 + 40)] == [
        "Firefox 128 on Ubuntu",
        "Safari on iPhone",
    ]
    assert devices.check(alice, newest.value, fresh_2sv_required=False, ip=None,
                         now=T0 + 40).trusted


def test_many_trusted_browsers_are_flagged(services: Services, alice: User, bob: User) -> None:
    # covers A1: visible sharing (settings page, `idp users show`)
    devices = TrustedBrowsers(services.store, services.settings, services.audit)
    assert devices.warn_above == 3
    for i in range(3):
        devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0 + i)
    assert not devices.many(alice, now=T0 + 10)  # a computer, a phone, a tablet
    devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0 + 3)
    assert devices.many(alice, now=T0 + 10)
    assert not devices.many(bob, now=T0 + 10)
    strict = TrustedBrowsers(services.store, services.settings, services.audit, warn_above=1)
    devices.trust(bob, user_agent=SAFARI_IPHONE, ip=None, now=T0)
    assert not strict.many(bob, now=T0 + 10)
    devices.trust(bob, user_agent=FIREFOX_UBUNTU, ip=None, now=T0 + 1)
    assert strict.many(bob, now=T0 + 10)


def test_expired_entries_leave_the_list_and_the_store(
    services: Services, devices: TrustedBrowsers, alice: User
) -> None:
    # covers T4: expiry; listings show only what still works
    devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=T0)
    devices.trust(alice, user_agent=SAFARI_IPHONE, ip=None, now=T0 + 20 * DAY)
    [left] = devices.list(alice, now=T0 + 31 * DAY)
    assert left.label == "Safari on iPhone"
    assert not devices.many(alice, now=T0 + 31 * DAY)
    keys = list(services.store.scan(f"tb:{alice.id}:"))
    assert keys == [f"tb:{alice.id}:{left.device_id}"]
    assert services.store.smembers(f"tb-set:{alice.id}") == {left.device_id}


def test_store_ttl_is_the_remaining_life(
    services: Services, devices: TrustedBrowsers, alice: User
) -> None:
    # Records are cleaned by the store itself when they can no longer be used. (Real time
    # here: the store's TTLs run on the real clock.)
    lifetime = services.settings.lifetimes.trusted_browser_s
    start = time.time()
    cookie = devices.trust(alice, user_agent=CHROME_WINDOWS, ip=None, now=start)
    [entry] = devices.list(alice, now=start)
    key = f"tb:{alice.id}:{entry.device_id}"
    ttl = services.store.ttl(key)
    assert ttl is not None
    assert lifetime - 3600 < ttl <= lifetime
    later = start + 10 * DAY
    assert devices.check(alice, cookie.value, fresh_2sv_required=False, ip=None, now=later).trusted
    ttl = services.store.ttl(key)
    assert ttl is not None
    assert ttl <= lifetime - 10 * DAY
    assert ttl > lifetime - 10 * DAY - 3600
