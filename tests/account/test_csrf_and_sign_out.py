"""Every form of the settings pages refuses a request that can't be shown to come from our
own page, and "Sign out" ends the SSO session on this browser."""

from __future__ import annotations

import pytest

from idp.users import User
from tests.account.forms import forms
from tests.account.helpers import CHROME_WINDOWS, PASSWORD, HttpBrowser, Site
from tests.account.journey import sign_in
from tests.web.html import visible_text

# Every state-changing address, with what a valid submission would carry.
POSTS = [
    ("/account/browsers/remove", {"device_id": "x" * 22}),
    ("/account/browsers/remove-all", {}),
    ("/account/sign-out", {}),
    ("/account/methods/primary/replace", {"method": "sms", "phone": "080-2222-3333"}),
    ("/account/methods/primary/verify", {"code": "123456"}),
    ("/account/methods/primary/resend", {}),
    ("/account/methods/primary/cancel", {}),
    ("/account/methods/backup/remove", {}),
    ("/account/methods/swap", {}),
    ("/account/recovery-codes", {}),
    ("/account/password", {"current_password": PASSWORD, "new_password": "n" * 12,
                           "new_password_again": "n" * 12}),
]


@pytest.mark.parametrize(("path", "data"), POSTS, ids=[path for path, _ in POSTS])
def test_posts_without_a_valid_token_are_refused(
    site: Site, seller: User, desktop: HttpBrowser, path: str, data: dict[str, str]
) -> None:
    sign_in(desktop, seller)
    site.services.devices.trust(seller, user_agent=CHROME_WINDOWS, ip=None)
    page = desktop.get("/account")  # sets the CSRF cookie
    # A token of another form of the same person (purpose-bound): refused.
    other = next(f for f in forms(page.text) if f.action == "/account/sign-out")
    if path != "/account/sign-out":
        assert desktop.http.post(path, data={**data, **other.fields},
                                 headers={"Origin": site.base}).status_code == 403
    # No token; a made-up token; a cross-site origin with a real token.
    assert desktop.http.post(path, data=data).status_code == 403
    assert desktop.http.post(path, data={**data, "csrf_token": "A" * 43}).status_code == 403
    real = [f for f in forms(page.text) if f.action == path]
    token = real[0].fields["csrf_token"] if real else other.fields["csrf_token"]
    cross = desktop.http.post(path, data={**data, "csrf_token": token},
                              headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert "ページの有効期限が切れました" in visible_text(cross.text)
    # Nothing changed.
    assert site.methods()["primary"][0] == "totp"
    assert site.services.devices.count(site.user()) == 1
    assert site.services.accounts.check_password(site.user(), PASSWORD)
    assert desktop.get("/account").status_code == 200


def test_sign_out_ends_the_session(site: Site, seller: User, desktop: HttpBrowser) -> None:
    sign_in(desktop, seller)
    assert desktop.get("/account/sign-out").status_code == 405  # a link can't sign out
    page = desktop.get("/account")
    session = site.session_of(desktop)
    assert session is not None
    out = desktop.submit(page, "/account/sign-out")
    assert out.status_code == 200
    assert "サインアウトしました" in visible_text(out.text)
    cookie = site.services.sessions.cookie_name
    assert f"{cookie}=" in out.headers["set-cookie"]
    assert site.services.sessions.by_sid(session.sid) is None
    assert [e["reason"] for e in site.events_named("session.ended")] == ["signed_out"]
    # The next visit starts the journey again.
    again = desktop.get("/account")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")
