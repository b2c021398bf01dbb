"""/account: signed out it starts the journey; signed in it lists the person's methods,
described but never revealed, in Japanese and English."""

from __future__ import annotations

import re
from contextlib import closing

from idp.users import User
from idp.web.headers import SECURITY_HEADERS
from tests.account.helpers import (
    PHONE,
    TOTP_SECRET,
    HttpBrowser,
    Site,
    create_seller,
)
from tests.account.journey import sign_in
from tests.web.html import visible_text


def test_signed_out_starts_the_journey_back_to_account(site: Site, desktop: HttpBrowser) -> None:
    response = desktop.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "Security settings" not in response.text
    # Once signed in, the journey comes back here.
    create_seller(site, "en@example.com", locale="en", phone="+819033334444")
    landed = sign_in(desktop, site.user("en@example.com"))
    assert landed.url.path == "/account"
    assert landed.status_code == 200
    assert "Security settings" in visible_text(landed.text)


def test_methods_are_described_never_revealed(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    sign_in(desktop, seller)
    response = desktop.get("/account")
    assert response.status_code == 200
    text = visible_text(response.text)
    assert "認証アプリ" in text  # the seller's setting (ja) outranks Accept-Language (L1)
    assert "SMS（+81 90-****-5678）" in text
    # Neither the app's secret nor the full number is anywhere in the page.
    assert TOTP_SECRET not in response.text
    assert TOTP_SECRET[:16] not in response.text
    digits = re.sub(r"\D", "", PHONE)
    assert digits not in re.sub(r"\D", "", response.text)
    assert "90-1234-5678" not in response.text
    assert "9012345678" not in response.text


def test_every_settings_page_is_no_store_with_the_security_headers(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    sign_in(desktop, seller)
    for path in ("/account", "/account/password", "/account/recovery-codes",
                 "/account/methods/primary/replace", "/account/methods/swap"):
        response = desktop.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
        # CSP without inline script or style: nothing inline to allow.
        assert "<script>" not in response.text, path
        assert " style=" not in response.text, path
        assert "<style" not in response.text, path


def test_an_unknown_role_is_not_found(site: Site, seller: User, desktop: HttpBrowser) -> None:
    sign_in(desktop, seller)
    assert desktop.get("/account/methods/tertiary/replace").status_code == 404


def test_japanese_and_english(site: Site) -> None:
    # covers L1
    create_seller(site, "ja@example.com", locale="ja", phone="+819011112222")
    create_seller(site, "en@example.com", locale="en", phone="+819033334444")
    pages = {}
    for email, language in (("ja@example.com", "en"), ("en@example.com", "ja")):
        with closing(HttpBrowser(site, language=language)) as browser:
            sign_in(browser, site.user(email))
            pages[email] = browser.get("/account")
            # The language switch outranks the person's setting (L1: chosen on this page).
            switched = browser.follow(browser.get(f"/lang?to={language}&next=/account"))
            pages[f"{email}+switch"] = switched
    ja, en = pages["ja@example.com"], pages["en@example.com"]
    assert ja.headers["content-language"] == "ja"
    assert '<html lang="ja">' in ja.text
    assert en.headers["content-language"] == "en"
    assert '<html lang="en">' in en.text
    ja_text, en_text = visible_text(ja.text), visible_text(en.text)
    for japanese in ("セキュリティ設定", "第一手段", "バックアップ手段", "2段階認証",
                     "コードの入力が不要なブラウザ", "リカバリーコード", "パスワードを変更"):
        assert japanese in ja_text
    for english in ("Security settings", "Primary method", "Backup method",
                    "Two-step verification", "Browsers that don't require a code",
                    "Recovery codes", "Change password", "Text message to +81 90-****-4444"):
        assert english in en_text
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", en_text.replace("日本語", ""))
    assert pages["ja@example.com+switch"].headers["content-language"] == "en"
    assert pages["en@example.com+switch"].headers["content-language"] == "ja"
