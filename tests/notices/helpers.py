"""People and checks shared by the notice tests."""

from __future__ import annotations

import base64
import itertools
import re
import secrets as random_secrets

import httpx

from idp.users import User, method_user, normalise_email
from tests.account.helpers import PASSWORD, PHONE, HttpBrowser, Site, totp_now
from tests.account.journey import app_code
from tests.notices.smtp_sink import Received

_numbers = itertools.count(1)
# What no notice may ever contain: six-digit codes, phone numbers in any form, tokens.
_SIX_DIGITS = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


# user id -> that person's authenticator-app secret (each person their own).
SECRETS: dict[str, str] = {}


def person(site: Site, locale: str, *, verified: bool = True) -> User:
    """A new seller with an app (a secret of their own) and an SMS backup; verified, so no
    verification mail."""
    n = next(_numbers)
    secret = base64.b32encode(random_secrets.token_bytes(20)).decode()
    user = site.services.accounts.create(f"seller{n}-{locale}@example.com", password=PASSWORD,
                                         locale=locale, display_name="Seller")
    site.services.methods.import_credentials(
        method_user(user),
        [("totp", "primary", {"secret": secret}), ("sms", "backup", {"phone": PHONE})],
    )
    SECRETS[user.id] = secret
    user = site.user(user.email)
    if verified:
        user = site.services.accounts.update(user.id, verified_email=normalise_email(
            user.email))
    return user


def assert_clean(received: Received, *secrets: str) -> None:
    """No code, password, token or full phone number, in any part or header."""
    text, html = received.part("plain"), received.part("html")
    for body in (text, html, received.subject):
        # The one-time link is the notice's own (signed, single use): look past it.
        body = re.sub(r"https?://[^\s\"<]+", "", body)
        assert not _SIX_DIGITS.search(body), body
        for number in (PHONE, PHONE[3:], "90-1234-5678"):
            assert number not in body
        for secret in secrets:
            assert secret not in body


def assert_multipart(received: Received, locale: str) -> None:
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert message["Content-Language"] == locale
    assert message["Auto-Submitted"] == "auto-generated"
    japanese = re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", received.subject + received.part(
        "plain"))
    assert bool(japanese) == (locale == "ja")


def sign_in_as(browser: HttpBrowser, user: User, *, trust: bool = False,
               start: str = "/account") -> httpx.Response:
    """The journey with the person's own app: password, then the app's code."""
    page = browser.follow(browser.get(start))
    assert page.url.path == "/login", page.url
    page = browser.follow(
        browser.submit(page, "/login", {"email": user.email, "password": PASSWORD}))
    if page.url.path == "/login/code":
        fields = {"code": app_code(browser.site, SECRETS[user.id])}
        if trust:
            fields["trust"] = "1"
        page = browser.follow(browser.submit(page, "/login/code", fields))
    return page


__all__ = ["SECRETS", "assert_clean", "assert_multipart", "person", "sign_in_as", "totp_now"]
