"""The language of the sign-in (L1): ui_locales, then the person's setting, then
Accept-Language; texts and calls to the phone in the page's language."""

from __future__ import annotations

from contextlib import closing

import httpx
import pytest

from tests.login.helpers import (
    MOBILE,
    MOBILE_E164,
    OTHER_MOBILE,
    PASSWORD,
    HttpBrowser,
    Site,
    create_user,
    enroll,
)
from tests.web.html import one, visible_text

SIGN_IN = {"ja": "ログイン", "en": "Sign in"}


def language(response: httpx.Response) -> str:
    lang = one(response.text, "html").get("lang")
    assert lang == response.headers["content-language"]
    return str(lang)


@pytest.mark.parametrize(
    ("params", "accept", "expected"),
    [
        ({"ui_locales": "en"}, "ja", "en"),
        ({"ui_locales": "ja-JP en"}, "en", "ja"),
        ({"ui_locales": "fr"}, "en-US", "en"),  # nothing supported: the next source
        ({}, "ja,en;q=0.5", "ja"),
        ({}, "en-GB", "en"),
    ],
)
def test_the_password_page_speaks_ui_locales_then_accept_language(
        site: Site, params: dict[str, str], accept: str, expected: str) -> None:
    # covers L1
    with closing(site.browser(language=accept)) as browser:
        page = browser.go("/test/start", **params)
        assert language(page) == expected
        assert one(page.text, "h1").text == SIGN_IN[expected]
        assert "lang-switch" in page.text


def test_the_persons_setting_comes_after_ui_locales_and_before_accept_language(
        site: Site) -> None:
    # covers L1
    user = create_user(site.services, "ja@example.com", locale="ja")
    enroll(site.services, site.outbox, user, primary=("sms", MOBILE),
           backup=("voice", OTHER_MOBILE))
    with closing(site.browser(language="en")) as browser:
        page = browser.go("/login")
        assert language(page) == "en"  # the person is not known yet
        page = browser.submit("/login", email=user.email, password=PASSWORD)
        assert language(page) == "ja"  # now they are: their own setting
        text = visible_text(page.text)
        assert "コードが届きませんか？" in text
        assert "このブラウザではコードを要求しない" in text
        sms = site.outbox.latest(MOBILE_E164)
        assert (sms["locale"], "確認コード" in sms["text"]) == ("ja", True)
    # A client's ui_locales outranks the setting, for the page and for the text.
    with closing(site.browser(language="ja")) as browser:
        browser.go("/test/start", ui_locales="en")
        page = browser.submit("/login", email=user.email, password=PASSWORD)
        assert language(page) == "en"
        assert "Didn't receive the code?" in visible_text(page.text)
        page = browser.go("/login/code", use="backup")
        call = site.outbox.latest("+818022223333")
        assert call["locale"] == "en"
        assert "Your verification code is:" in call["segments"]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_whole_enrollment_reads_in_one_language(site: Site, lang: str) -> None:
    # covers L1, E1
    user = create_user(site.services, f"{lang}@example.com", locale="en")
    browser: HttpBrowser = site.browser(language=lang)
    try:
        browser.go("/test/start", ui_locales=lang)
        page = browser.submit("/login", email=user.email, password=PASSWORD)
        expected = {"ja": "2段階認証を設定", "en": "Set up two-step verification"}[lang]
        assert one(page.text, "h1").text == expected
        page = browser.submit("/login/enroll", method="sms")
        assert language(page) == lang
        page = browser.submit("/login/enroll/details", phone="050-1111-2222")
        assert language(page) == lang
        assert ("SMSを受信できません" in page.text) == (lang == "ja")
        page = browser.submit("/login/enroll/details", phone=MOBILE)
        assert language(page) == lang
        assert site.outbox.latest(MOBILE_E164)["locale"] == lang
    finally:
        browser.close()
