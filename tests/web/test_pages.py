"""Pages over real HTTP: language of each page, the language switch, error pages, static."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from idp.web.headers import SECURITY_HEADERS
from tests.web.html import elements, one, visible_text
from tests.web.site import LEAKY_MESSAGE, Site

JA_HEADING = "コードが届きませんか？"
EN_HEADING = "Didn't receive the code?"


def heading(response: httpx.Response) -> str:
    return one(response.text, "h1").text


@pytest.mark.parametrize(
    ("params", "headers", "lang"),
    [
        ({}, {"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.8"}, "ja"),
        ({}, {"Accept-Language": "en-US,en;q=0.9"}, "en"),
        ({}, {"Accept-Language": "en-US;q=0.8, ja;q=0.9"}, "ja"),
        ({}, {"Accept-Language": "fr-FR, de;q=0.9"}, "ja"),  # nothing supported: default
        ({"ui_locales": "en"}, {"Accept-Language": "ja"}, "en"),
        ({"ui_locales": "ja"}, {"Accept-Language": "en"}, "ja"),
        ({"user_locale": "en"}, {"Accept-Language": "ja"}, "en"),
        ({}, {}, "ja"),
    ],
)
def test_pages_speak_the_negotiated_language(
    site: Site, params: dict[str, str], headers: dict[str, str], lang: str
) -> None:
    response = httpx.get(f"{site.base}/form", params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-language"] == lang
    assert one(response.text, "html").get("lang") == lang
    assert heading(response) == (JA_HEADING if lang == "ja" else EN_HEADING)
    assert "Accept-Language" in response.headers["vary"]


def test_japanese_page_is_translated_throughout(site: Site) -> None:
    response = httpx.get(f"{site.base}/form", headers={"Accept-Language": "ja"})
    text = visible_text(response.text)
    for phrase in (
        "このブラウザではコードを要求しない",  # T1, exactly
        "コードの入力が不要なブラウザが2件あります",  # plural (T3)
        "新しいコードは0:25後にリクエストできます。",
        "メインコンテンツへスキップ",
        "お客様のアカウントは2段階認証で保護されています。",
    ):
        assert phrase in text
    assert one(response.text, "nav").get("aria-label") == "言語"
    assert one(response.text, "title").text == f"{JA_HEADING} · Nidan"


@pytest.mark.parametrize(("count", "expected"), [(1, "1 browser doesn't"), (3, "3 browsers don't")])
def test_english_plurals(site: Site, count: int, expected: str) -> None:
    response = httpx.get(
        f"{site.base}/form", params={"browsers": str(count)}, headers={"Accept-Language": "en"}
    )
    assert expected in visible_text(response.text)


def test_the_language_switch_keeps_the_person_where_they_are(site: Site) -> None:
    with httpx.Client(base_url=site.base, headers={"Accept-Language": "ja"}) as http:
        page = http.get("/form", params={"browsers": "3"})
        switch = elements(page.text, "a", class_="lang-switch__item")
        links = {link.get("hreflang"): link for link in switch}
        assert set(links) == {"en"}  # the current language is shown, not linked
        current = one(page.text, "span", class_="lang-switch__item lang-switch__item--current")
        assert current.text == "日本語"
        assert (current.get("aria-current"), current.get("lang")) == ("true", "ja")
        href = links["en"].get("href")
        assert href is not None
        assert links["en"].text == "English"
        assert links["en"].get("lang") == "en"
        query = parse_qs(urlsplit(href).query)
        assert query == {"to": ["en"], "next": ["/form?browsers=3"]}

        switched = http.get(href)
        assert switched.status_code == 303
        assert switched.headers["location"] == "/form?browsers=3"
        cookie = switched.headers["set-cookie"]
        assert cookie.startswith("nidan_lang=en;")
        assert "Path=/" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "Max-Age=31536000" in cookie

        # The choice now beats the browser's Accept-Language (and the client's ui_locales).
        after = http.get("/form", params={"browsers": "3", "ui_locales": "ja"})
        assert after.headers["content-language"] == "en"
        assert heading(after) == EN_HEADING
        back = one(after.text, "a", hreflang="ja")
        assert back.text == "日本語"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
    ],
)
def test_the_switch_is_not_an_open_redirect(site: Site, target: str) -> None:
    response = httpx.get(f"{site.base}/lang", params={"to": "en", "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_the_switch_ignores_unsupported_languages(site: Site) -> None:
    response = httpx.get(f"{site.base}/lang", params={"to": "fr", "next": "/form"})
    assert response.status_code == 303
    assert response.headers["location"] == "/form"
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("lang", "title"), [("ja", "ページが見つかりません"), ("en", "Page not found")]
)
def test_404_is_a_friendly_page_in_the_persons_language(site: Site, lang: str, title: str) -> None:
    response = httpx.get(f"{site.base}/no/such/page", headers={"Accept-Language": lang})
    assert response.status_code == 404
    assert response.headers["content-language"] == lang
    assert one(response.text, "html").get("lang") == lang
    assert heading(response) == title
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    # The switch on an error page leads back to the same address.
    switch = elements(response.text, "a", class_="lang-switch__item")[0].get("href") or ""
    assert parse_qs(urlsplit(switch).query)["next"] == ["/no/such/page"]


def test_405_is_a_friendly_page(site: Site) -> None:
    response = httpx.put(f"{site.base}/form", headers={"Accept-Language": "en"})
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert heading(response) == "This action isn't available"


@pytest.mark.parametrize(
    ("lang", "title"), [("ja", "問題が発生しました"), ("en", "Something went wrong")]
)
def test_500_leaks_nothing_and_gives_a_reference(
    site: Site, caplog: pytest.LogCaptureFixture, lang: str, title: str
) -> None:
    with caplog.at_level(logging.INFO):
        response = httpx.get(f"{site.base}/boom", headers={"Accept-Language": lang})
    assert response.status_code == 500
    assert response.headers["content-language"] == lang
    assert heading(response) == title
    for name, value in SECURITY_HEADERS.items():  # the page went through the middleware
        assert response.headers[name] == value
    for leak in (LEAKY_MESSAGE, "hunter2", "RuntimeError", "Traceback", "site.py"):
        assert leak not in response.text
    reference = one(response.text, "code").text
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{6}", reference)

    logged = [record for record in caplog.records if record.name.startswith(("idp", "uvicorn"))]
    lines = [record.getMessage() for record in logged]
    assert f"unhandled RuntimeError, reference {reference}" in lines
    for record in logged:
        assert "hunter2" not in record.getMessage()
        assert record.exc_info is None  # no traceback reaches any handler
    assert not [r for r in caplog.records if r.name.startswith("uvicorn") and r.levelno >= 40]


def test_each_500_has_its_own_reference(site: Site) -> None:
    first = one(httpx.get(f"{site.base}/boom").text, "code").text
    second = one(httpx.get(f"{site.base}/boom").text, "code").text
    assert first != second


def test_static_files_are_content_hashed(site: Site) -> None:
    page = httpx.get(f"{site.base}/form")
    css_href = one(page.text, "link", rel="stylesheet").get("href") or ""
    js_src = one(page.text, "script").get("src") or ""
    assert re.fullmatch(r"/static/nidan\.css\?v=[0-9a-f]{16}", css_href)
    assert re.fullmatch(r"/static/nidan\.js\?v=[0-9a-f]{16}", js_src)

    css = httpx.get(f"{site.base}{css_href}")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    stale = httpx.get(f"{site.base}/static/nidan.css?v=0000000000000000")
    assert stale.headers["cache-control"] == "no-cache"
    missing = httpx.get(f"{site.base}/static/nope.css", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert heading(missing) == "Page not found"


def test_rendered_pages_hold_no_inline_script_or_style(site: Site) -> None:
    pages = [
        httpx.get(f"{site.base}/form"),
        httpx.get(f"{site.base}/nope"),
        httpx.get(f"{site.base}/boom"),
    ]
    for page in pages:
        csp = SECURITY_HEADERS["Content-Security-Policy"]
        assert page.headers["content-security-policy"] == csp
        for script in elements(page.text, "script"):
            assert script.get("src"), "inline <script> would be blocked by the CSP"
            assert not script.text.strip()
        assert not elements(page.text, "style")
        for element in elements(page.text):
            assert "style" not in element.attrs
            assert not [name for name in element.attrs if name.startswith("on")]


def test_japanese_pages_hold_no_untranslated_english(site: Site) -> None:
    """Rendered, not just in source: any English left on a Japanese page is a miss."""
    ja = {"Accept-Language": "ja"}
    with httpx.Client(base_url=site.base, headers=ja) as http:
        pages = [http.get("/form"), http.get("/nope"), http.get("/boom")]
        pages.append(http.post("/form", data={"code": "1"}))  # the CSRF page
    allowed = {"Nidan", "English"}  # the service's name; the switch's autonym
    for page in pages:
        assert page.headers["content-language"] == "ja"
        text = re.sub(r"[0-9A-F]{4}-[0-9A-F]{6}", "", visible_text(page.text))  # reference
        assert set(re.findall(r"[A-Za-z]{2,}", text)) <= allowed, text
        for element in elements(page.text):
            for name in ("aria-label", "title", "alt", "placeholder"):
                value = element.get(name) or ""
                assert not re.search(r"[A-Za-z]{2,}", value), (name, value)
