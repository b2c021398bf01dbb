"""Signing a browser in through the real sign-in journey (``idp.login``'s pages): password,
then a code from the authenticator app or, after "Didn't receive the code?", a text message
read from the outbox; optionally "Don't require codes on this browser"."""

from __future__ import annotations

import time

import httpx

from idp.users import User
from tests.account.helpers import PASSWORD, PHONE, TOTP_SECRET, HttpBrowser, Site, totp_now

# RFC 6238 steps, and how far either side the server accepts (S5: one step).
STEP_S = 30
WINDOW_STEPS = 1


def app_code(site: Site, secret: str = TOTP_SECRET) -> str:
    """A code the app shows that the server has not seen yet (S5: each step once): the
    current step, or the next or previous one the server still accepts."""
    now_step = int(time.time()) // STEP_S
    for step in (now_step, now_step + WINDOW_STEPS, now_step - WINDOW_STEPS):
        if (secret, step) not in site.used_steps:
            site.used_steps.add((secret, step))
            return totp_now(secret, step * STEP_S)
    raise AssertionError("every app code of this window was used: wait for the next step")


def enter_code(
    browser: HttpBrowser, page: httpx.Response, *, use_backup: bool = False,
    phone: str = PHONE, primary_phone: str | None = None, trust: bool = False,
) -> httpx.Response:
    """On the code page: the app's code (or, with ``primary_phone``, the primary's text
    message), or the backup's text message to ``phone``; then follow."""
    assert page.url.path == "/login/code", page.url
    assert page.status_code == 200, (page.status_code, page.text[-2000:])
    if use_backup:
        page = browser.get("/login/code?use=backup")  # "Didn't receive the code?" (S3)
        assert page.status_code == 200
        code = browser.site.last_code(phone)
    elif primary_phone is not None:
        code = browser.site.last_code(primary_phone)
    else:
        code = app_code(browser.site)
    fields = {"code": code}
    if trust:
        fields["trust"] = "1"
    return browser.follow(browser.submit(page, "/login/code", fields))


def sign_in(
    browser: HttpBrowser, user: User, *, password: str = PASSWORD, use_backup: bool = False,
    phone: str = PHONE, primary_phone: str | None = None, trust: bool = False,
    start: str = "/account",
) -> httpx.Response:
    """Open ``start`` signed out and walk the journey; returns the page it ends on."""
    page = browser.follow(browser.get(start))
    assert page.url.path == "/login", page.url
    page = browser.follow(
        browser.submit(page, "/login", {"email": user.email, "password": password})
    )
    if page.url.path == "/login/code":
        page = enter_code(browser, page, use_backup=use_backup, phone=phone,
                          primary_phone=primary_phone, trust=trust)
    return page
