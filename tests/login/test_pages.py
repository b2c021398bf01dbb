"""The pages themselves: CSRF on every POST, headers, form fields a browser and a password
manager understand, friendly expiry, the entry points and the dev-mode phone."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import httpx
import pytest

from idp.web.headers import SECURITY_HEADERS
from tests.login.helpers import (
    MOBILE,
    MOBILE_E164,
    PASSWORD,
    Enrolled,
    HttpBrowser,
    Site,
    create_user,
    enroll,
    form,
    serve,
)
from tests.web.html import one, visible_text

POSTS = [
    "/login", "/login/code", "/login/code/resend", "/login/recovery", "/login/enroll",
    "/login/enroll/details", "/login/enroll/verify", "/login/enroll/resend",
    "/login/enroll/back", "/login/enroll/codes", "/login/enroll/codes/download",
]


@pytest.mark.parametrize("path", POSTS)
def test_every_post_needs_its_csrf_token(site: Site, visitor: HttpBrowser, person: Enrolled,
                                         path: str) -> None:
    visitor.go("/login")
    page = visitor.submit("/login", email=person.email, password=PASSWORD)
    fields = form(page.text, "/login/code").hidden
    without = visitor.http.post(path, data={"tx": fields["tx"], "code": "123456"})
    assert without.status_code == 403
    # A token of another form is no better.
    other_form = visitor.http.post(path, data={**fields, "code": "123456"}) if (
        path != "/login/code") else None
    if other_form is not None:
        assert other_form.status_code == 403
    cross = visitor.http.post(path, data=fields, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert visitor.whoami() is None


def test_pages_carry_the_security_headers_and_are_not_stored(site: Site, visitor: HttpBrowser,
                                                             person: Enrolled) -> None:
    pages = [visitor.go("/login")]
    pages.append(visitor.submit("/login", email=person.email, password=PASSWORD))
    pages.append(visitor.go("/login/recovery"))
    for page in pages:
        assert page.status_code == 200
        for name, value in SECURITY_HEADERS.items():
            assert page.headers[name] == value
        assert page.headers["cache-control"] == "no-store"


def test_the_password_page_for_a_client(site: Site, visitor: HttpBrowser) -> None:
    # covers S1
    page = visitor.go("/test/start", login_hint="hint@example.com", client_name="Order Desk",
                      client_id="orders")
    email = one(page.text, "input", name="email")
    assert (email.get("autocomplete"), email.get("value")) == ("username", "hint@example.com")
    password = one(page.text, "input", name="password")
    assert (password.get("type"), password.get("autocomplete")) == ("password",
                                                                    "current-password")
    assert password.get("value") is None
    assert one(page.text, "label", for_="field-email").text == "Email address"
    assert "Sign in to continue to Order Desk." in visible_text(page.text)
    assert site.audited("login.started")[-1]["client_id"] == "orders"


def test_the_journey_resumes_where_the_client_asked(site: Site, visitor: HttpBrowser,
                                                   person: Enrolled) -> None:
    visitor.go("/test/start", resume="/authorize/resume?r=abc")
    visitor.submit("/login", email=person.email, password=PASSWORD)
    assert person.app is not None
    done = visitor.submit("/login/code", follow=False, code=person.app.code())
    assert done.headers["location"] == "/authorize/resume?r=abc"
    # Signed in, /login itself goes to the settings page; a new start with nothing asked
    # goes straight back.
    again = visitor.get("/login")
    assert (again.status_code, again.headers["location"]) == (303, "/account")
    again = visitor.get("/test/start", resume="/next")
    assert (again.status_code, again.headers["location"]) == (303, "/next")


def test_an_expired_or_missing_transaction_says_start_again(site: Site,
                                                            visitor: HttpBrowser) -> None:
    for path in ("/login/code", "/login/enroll", "/login/recovery", "/login/enroll/codes"):
        page = visitor.get(path)
        assert page.status_code == 400, path
        assert "Your session has expired" in visible_text(page.text)
        assert one(page.text, "a", class_="button").get("href") == "/login"
    with closing(site.browser(language="ja")) as japanese:
        page = japanese.get("/login/code")
        assert "セッションの有効期限が切れました" in visible_text(page.text)


def test_the_transaction_cookie(site: Site, visitor: HttpBrowser) -> None:
    page = visitor.get("/login")
    header = [h for h in page.headers.get_list("set-cookie") if h.startswith("nidan_login=")]
    assert len(header) == 1
    assert "HttpOnly" in header[0]
    assert "samesite=lax" in header[0].lower()
    assert "Max-Age=900" in header[0]
    assert "Path=/" in header[0]


def test_the_transaction_cookie_is_host_only_and_secure_over_https(tmp_path: Path) -> None:
    with serve(tmp_path, server={"issuer": "https://id.example.com"}) as site:
        response = httpx.get(f"{site.base}/login")
        header = [h for h in response.headers.get_list("set-cookie")
                  if h.startswith("__Host-nidan_login=")]
        assert len(header) == 1
        assert "Secure" in header[0]
        assert "Domain" not in header[0]


def test_the_dev_phone_shows_texts_and_calls(tmp_path: Path) -> None:
    with serve(tmp_path, server={"dev": True}) as site:
        user = create_user(site.services, "dev@example.com")
        enroll(site.services, site.outbox, user, primary=("sms", MOBILE),
               backup=("voice", "03-1234-5678"))
        page = httpx.get(f"{site.base}/dev/outbox", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert page.headers["refresh"] == "5"
        text = visible_text(page.text)
        code = site.outbox.code(MOBILE_E164)
        assert f"Text message to {MOBILE_E164}" in text
        assert f"verification code: {code}" in text
        assert "Voice call to +81312345678" in text
        assert text.index("Voice call") < text.index("Text message")  # newest first


def test_the_dev_phone_is_not_there_outside_dev_mode(site: Site) -> None:
    assert httpx.get(f"{site.base}/dev/outbox").status_code == 404
