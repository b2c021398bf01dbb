"""Trusted browsers in the journey (T1, T2, T4, T5): the box on the code page, the skip, and
every cookie that must not skip the code."""

from __future__ import annotations

import time

import pytest

from idp.login import ACR_TRUSTED_BROWSER
from tests.login.helpers import PASSWORD, Enrolled, HttpBrowser, Site, create_user, enroll
from tests.web.html import one

DAY = 24 * 3600


def sign_in(browser: HttpBrowser, person: Enrolled, *, start: str = "/login",
            **params: str) -> str:
    """Sign out, then the password; returns where the browser went next (the code page, or
    the resume target for a trusted browser)."""
    browser.http.cookies.delete("nidan_sid")
    browser.go(start, **params)
    if str(browser.page.url if browser.page else "").endswith("/login/code"):
        browser.go("/login", restart="1")
    response = browser.submit("/login", follow=False, email=person.email, password=PASSWORD)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    browser.follow(response)
    return location


def trust(browser: HttpBrowser, person: Enrolled) -> None:
    assert sign_in(browser, person) == "/login/code"
    assert person.app is not None
    done = browser.submit("/login/code", follow=False, code=person.app.code(), trust="1")
    assert done.status_code == 303
    assert len(browser.trust_cookies()) == 1


def test_a_trusted_browser_asks_only_the_password(site: Site, visitor: HttpBrowser,
                                                  person: Enrolled) -> None:
    # covers T1
    assert sign_in(visitor, person) == "/login/code"
    box = one(visitor.page.text if visitor.page else "", "input", name="trust")
    assert box.get("type") == "checkbox"
    assert "Don't require codes on this browser" in (visitor.page.text if visitor.page else "")
    assert person.app is not None
    done = visitor.submit("/login/code", follow=False, code=person.app.code(), trust="1")
    cookies = visitor.trust_cookies()
    assert list(cookies) == [site.services.devices.cookie_name(person.user.id)]
    set_cookie = [h for h in done.headers.get_list("set-cookie") if h.startswith("nidan_tb_")]
    assert "HttpOnly" in set_cookie[0]
    assert "samesite=lax" in set_cookie[0].lower()
    # Next sign-in on this browser: the password only.
    assert sign_in(visitor, person) == "/account"
    session = visitor.whoami()
    assert session is not None
    assert session["acr"] == ACR_TRUSTED_BROWSER
    assert session["amr"] == ["pwd"]  # never otp or mfa without a code
    assert session["second_factor_at"] is None
    assert site.audited("login.trusted_browser")[-1]["user_id"] == person.user.id


def test_trust_survives_a_new_address_and_ends_with_the_cookies(site: Site, visitor: HttpBrowser,
                                                               person: Enrolled) -> None:
    # covers T2
    trust(visitor, person)
    moved = site.browser(local_address="127.0.0.2")
    cleared = site.browser()
    try:
        for name, value in visitor.trust_cookies().items():
            moved.set_cookie(name, value)
        assert sign_in(moved, person) == "/account"
        assert site.services.devices.list(person.user)[0].ip == "127.0.0.2"
        # Cookies cleared (a browser without them): the code is asked again.
        assert sign_in(cleared, person) == "/login/code"
    finally:
        moved.close()
        cleared.close()


def test_a_fresh_second_factor_demanded_ignores_the_trust(site: Site, visitor: HttpBrowser,
                                                          person: Enrolled) -> None:
    # covers T5
    trust(visitor, person)
    assert sign_in(visitor, person, start="/test/start", force_code="1") == "/login/code"
    assert site.audited("device.rejected") == []  # not a rejection: not consulted at all
    assert person.app is not None
    done = visitor.submit("/login/code", follow=False, code=person.app.code())
    assert done.status_code == 303
    session = visitor.whoami()
    assert session is not None
    assert session["amr"] == ["pwd", "otp", "mfa"]


def _tampered(value: str) -> str:
    """One character of the signed payload changed (the first: all six of its bits count,
    unlike the last of a base64 text, whose low bits may be padding)."""
    at = 1 if value.startswith(".") else 0  # "." marks a compressed payload
    return value[:at] + ("x" if value[at] != "x" else "y") + value[at + 1:]


@pytest.mark.parametrize("kind", ["forged", "tampered", "other_user", "revoked", "expired"])
def test_a_cookie_that_must_not_skip_the_code_is_ignored_and_audited(
        site: Site, visitor: HttpBrowser, person: Enrolled, kind: str) -> None:
    # covers T4
    devices = site.services.devices
    name = devices.cookie_name(person.user.id)
    reasons = {"forged": "forged", "tampered": "forged", "other_user": "other_user",
               "revoked": "unknown", "expired": "expired"}
    if kind == "forged":
        visitor.set_cookie(name, "eyJkIjoiYWJjIn0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl")
    elif kind == "tampered":
        trust(visitor, person)
        visitor.set_cookie(name, _tampered(visitor.trust_cookies()[name]))
    elif kind == "other_user":
        other = enroll(site.services, site.outbox, create_user(site.services, "o@example.com"),
                       backup=("sms", "080-1111-2222"))
        theirs = devices.trust(other.user, user_agent="pytest", ip="127.0.0.1")
        visitor.set_cookie(name, theirs.value)
    elif kind == "revoked":
        trust(visitor, person)
        devices.revoke_all(person.user.id, actor="test")
    else:
        old = devices.trust(person.user, user_agent="pytest", ip="127.0.0.1",
                            now=time.time() - 31 * DAY)
        visitor.set_cookie(name, old.value)
    before = len(site.audited("device.rejected"))
    visitor.http.cookies.delete("nidan_sid")  # signed out
    visitor.go("/login")
    response = visitor.submit("/login", follow=False, email=person.email, password=PASSWORD)
    assert response.headers["location"] == "/login/code"
    rejected = site.audited("device.rejected")[before:]
    assert [r["reason"] for r in rejected] == [reasons[kind]]
    assert rejected[0]["user_id"] == person.user.id
    # The rejected cookie is cleared, so it isn't presented (and audited) at every sign-in.
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith(name)]
    assert cleared
    assert "Max-Age=0" in cleared[0]


def test_ticking_the_box_at_the_end_of_enrollment_trusts_the_browser(
        site: Site, visitor: HttpBrowser) -> None:
    # covers T1, E7
    user = create_user(site.services, "fresh@example.com")
    visitor.go("/login")
    visitor.submit("/login", email=user.email, password=PASSWORD)
    page = visitor.submit("/login/enroll", method="sms")
    page = visitor.submit("/login/enroll/details", phone="090-5555-6666")
    page = visitor.submit("/login/enroll/verify", code=site.outbox.code("+819055556666"))
    page = visitor.submit("/login/enroll", method="voice")
    page = visitor.submit("/login/enroll/details", phone="03-1234-5678")
    page = visitor.submit("/login/enroll/verify", code=site.outbox.code("+81312345678"))
    assert str(page.url).endswith("/login/enroll/codes")
    done = visitor.submit("/login/enroll/codes", follow=False, trust="1")
    assert done.status_code == 303
    assert len(visitor.trust_cookies()) == 1
    fresh = site.services.accounts.get(user.id)
    assert fresh is not None
    assert site.services.devices.count(fresh) == 1
