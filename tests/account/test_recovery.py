"""New recovery codes from the settings page (BEHAVIOUR E7, C2, C3, C4): shown once, with a
download; every old code stops working; the session survives the epoch bump."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from idp.methods import WrongCode
from idp.users import User, method_user
from tests.account.helpers import CHROME_WINDOWS, HttpBrowser, Site
from tests.account.journey import sign_in
from tests.web.html import elements, visible_text

RECOVERY = "/account/recovery-codes"
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")


def shown_codes(html: str) -> list[str]:
    return [" ".join(e.text.split()) for e in elements(html, "code") if CODE.match(e.text)]


def test_new_recovery_codes_replace_the_old_ones(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers E7, C3, C4
    methods = site.services.methods
    old = methods.regenerate_recovery_codes(method_user(seller))
    seller = site.user()
    site.services.devices.trust(seller, user_agent=CHROME_WINDOWS, ip=None)
    sign_in(desktop, seller)
    overview = desktop.get("/account")
    assert "未使用のリカバリーコードは残り10個です" in visible_text(overview.text)
    page = desktop.get(RECOVERY)
    assert page.status_code == 200
    made = desktop.submit(page, RECOVERY)
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    codes = shown_codes(made.text)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert not set(codes) & set(old)
    # The download holds the very same codes, as plain text.
    (link,) = [a for a in elements(made.text, "a") if a.get("download") is not None]
    href = link.get("href") or ""
    assert href.startswith("data:text/plain;charset=utf-8,")
    text = unquote(href.split(",", 1)[1])
    assert all(code in text for code in codes)
    assert "seller@example.com" in text
    assert "&" not in text
    # C4: trusted browsers ended; this session was rebound and still works.
    assert site.services.devices.count(site.user()) == 0
    assert desktop.get("/account").status_code == 200
    # Shown once: nothing on the server can show them again.
    assert not set(codes) & set(shown_codes(desktop.get(RECOVERY).text))
    # Every old code stops working; a new one works (once).
    with pytest.raises(WrongCode):
        methods.use_recovery_code(method_user(seller), old[0])
    assert methods.use_recovery_code(method_user(seller), codes[0]) == 9


def test_an_imported_account_is_told_it_has_no_codes(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers E7
    sign_in(desktop, seller)
    text = visible_text(desktop.get("/account").text)
    assert "リカバリーコードがありません" in text
