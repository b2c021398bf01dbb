"""Changing the password on the settings page (BEHAVIOUR C4): the current one first, the new
one twice; afterwards the old one fails, the new one works, trusted browsers end, and the
person stays signed in here."""

from __future__ import annotations

from contextlib import closing

import httpx

from idp.users import User
from tests.account.forms import form_for
from tests.account.helpers import (
    PASSWORD,
    SAFARI_IPHONE,
    HttpBrowser,
    Site,
)
from tests.account.journey import sign_in
from tests.web.html import visible_text

PASSWORD_PATH = "/account/password"
NEW_PASSWORD = "a new password nobody guesses"


def change(
    desktop: HttpBrowser, current: str, new: str, again: str | None = None
) -> httpx.Response:
    page = desktop.get(PASSWORD_PATH)
    return desktop.submit(page, PASSWORD_PATH, {
        "current_password": current, "new_password": new,
        "new_password_again": new if again is None else again,
    })


def test_the_form_tells_password_managers_what_is_what(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    sign_in(desktop, seller)
    controls = form_for(desktop.get(PASSWORD_PATH).text, PASSWORD_PATH).controls
    assert controls["current_password"]["autocomplete"] == "current-password"
    assert controls["new_password"]["autocomplete"] == "new-password"
    assert controls["new_password_again"]["autocomplete"] == "new-password"
    assert controls["username"]["autocomplete"] == "username"
    assert all(controls[name]["type"] == "password"
               for name in ("current_password", "new_password", "new_password_again"))


def test_change_password(site: Site, seller: User, desktop: HttpBrowser) -> None:
    # covers C4
    accounts, devices = site.services.accounts, site.services.devices
    with closing(HttpBrowser(site, user_agent=SAFARI_IPHONE)) as other:
        sign_in(other, seller, trust=True)  # a browser that skips the code
        sign_in(desktop, seller)
        done = change(desktop, PASSWORD, NEW_PASSWORD)
        assert done.status_code == 200
        assert "パスワードを変更しました" in visible_text(done.text)
        assert NEW_PASSWORD not in done.text
        assert PASSWORD not in done.text
        user = site.user()
        assert user.security_epoch > seller.security_epoch
        assert devices.count(user) == 0
        assert desktop.get("/account").status_code == 200  # still signed in here...
        assert other.get("/account").status_code == 303  # ...but nowhere else
        # The other browser is no longer trusted: password, then a code again.
        page = other.follow(other.get("/account"))
        asked = other.follow(other.submit(page, "/login",
                                          {"email": seller.email, "password": NEW_PASSWORD}))
        assert asked.url.path == "/login/code"
        # The old password fails, the new one works.
        desktop.submit(desktop.get("/account"), "/account/sign-out")
        page = desktop.follow(desktop.get("/account"))
        refused = desktop.submit(page, "/login", {"email": seller.email, "password": PASSWORD})
        assert refused.status_code == 400
        assert sign_in(desktop, seller, password=NEW_PASSWORD).url.path == "/account"
        assert accounts.check_password(site.user(), NEW_PASSWORD)


def test_refusals(site: Site, seller: User, desktop: HttpBrowser) -> None:
    # covers C4
    sign_in(desktop, seller)
    cases = [
        (("wrong password here", NEW_PASSWORD, None), "現在のパスワードが正しくありません"),
        ((PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!"), "一致しません"),
        ((PASSWORD, "short", None), "8文字以上にしてください"),
        ((PASSWORD, "x" * 129, None), "128文字以内にしてください"),
    ]
    for (current, new, again), message in cases:
        refused = change(desktop, current, new, again)
        assert refused.status_code == 400, message
        assert message in visible_text(refused.text)
        assert new not in refused.text  # never echoed
    assert site.services.accounts.check_password(site.user(), PASSWORD)


def test_guessing_the_current_password_is_limited(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers S4
    sign_in(desktop, seller)
    limit = site.settings.limits.password_delay_after
    statuses = [change(desktop, f"guess {n}", NEW_PASSWORD).status_code
                for n in range(limit)]
    assert statuses == [400] * (limit - 1) + [429]
    # Locked for the window: even the right password is not checked now.
    locked = change(desktop, PASSWORD, NEW_PASSWORD)
    assert locked.status_code == 429
    assert site.services.accounts.check_password(site.user(), PASSWORD)
    assert len(site.events_named("account.password_change_locked")) == 1


def test_common_and_context_passwords_are_refused_in_japanese(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers C4 (ASVS 6.2.4 and 6.2.11 on the page that changes the password)
    sign_in(desktop, seller)
    cases = [
        ("password123", "よく使われるパスワードの一つ"),
        ("Ｐａｓｓｗｏｒｄ１２３", "よく使われるパスワードの一つ"),  # full width, other case
        ("my nidan account key", "サービス名またはメールアドレスの一部"),
        ("二段認証はたいせつです", "サービス名またはメールアドレスの一部"),
        ("the seller of green tea", "サービス名またはメールアドレスの一部"),  # seller@...
    ]
    for new, message in cases:
        refused = change(desktop, PASSWORD, new)
        assert refused.status_code == 400, new
        assert message in visible_text(refused.text), new
        assert new not in refused.text  # never echoed
    user = site.user()
    assert user.security_epoch == seller.security_epoch
    assert site.services.accounts.check_password(user, PASSWORD)
