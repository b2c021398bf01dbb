"""What a person's browser sees of Nidan today, in Japanese and in English: the start page,
the error page, the language switch, the security headers (and that Chromium enforces
them), keyboard focus order, and a phone-sized screen.

Every test also checks, through ``open_person``, that no page reported a CSP violation,
a script error or a server error.
"""

from __future__ import annotations

import re
from typing import Final

import pytest
from playwright.sync_api import expect

from idp.settings import Settings
from idp.web.i18n import LANG_COOKIE, LANGUAGE_NAMES, LocaleCode
from tests.browser.pages import (
    OpenPerson,
    Screenshots,
    assert_security_headers,
    focused,
    tab_through,
    ui_text,
)

LANGS: Final = pytest.mark.parametrize("lang", ["ja", "en"])
# No route answers here: the friendly 404 page.
MISSING: Final = "/no-such-page"
# An inline script, added from outside the page (Playwright's evaluate is not bound by
# the page's CSP); the script element itself is, so Chromium must refuse to run it.
INJECT_INLINE_SCRIPT: Final = """() => {
  const script = document.createElement('script');
  script.textContent = 'window.__nidanInjected = true';
  document.head.append(script);
}"""


def _other(lang: LocaleCode) -> LocaleCode:
    return "en" if lang == "ja" else "ja"


@LANGS
def test_start_page(
    open_person: OpenPerson, screenshot: Screenshots, settings: Settings, lang: LocaleCode
) -> None:
    person = open_person(lang)
    page = person.page

    response = page.goto("/")

    assert response is not None
    assert response.status == 200
    assert_security_headers(response)
    name = settings.ui.service_name
    assert response.header_value("content-language") == lang
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page).to_have_title(f"{ui_text(lang, 'Welcome')} · {name}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    settings_link = page.get_by_role("link", name=ui_text(lang, "Security settings"))
    expect(settings_link).to_have_attribute("href", "/account")
    screenshot(page, "start-page")


@LANGS
def test_error_page_speaks_the_browsers_language(
    open_person: OpenPerson, screenshot: Screenshots, settings: Settings, lang: LocaleCode
) -> None:
    person = open_person(lang)
    page = person.page

    response = page.goto(MISSING)

    assert response is not None
    assert response.status == 404
    assert_security_headers(response)
    assert response.header_value("content-language") == lang
    expect(page.locator("html")).to_have_attribute("lang", lang)
    heading = ui_text(lang, "Page not found")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page).to_have_title(f"{heading} · {settings.ui.service_name}")
    switch = page.get_by_role("navigation", name=ui_text(lang, "Language"))
    expect(switch.locator("[aria-current=true]")).to_have_text(LANGUAGE_NAMES[lang])
    expect(switch.get_by_role("link")).to_have_text([LANGUAGE_NAMES[_other(lang)]])
    screenshot(page, "not-found")

    page.get_by_role("link", name=ui_text(lang, "Go to the start page")).click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(settings.ui.service_name)


@LANGS
def test_language_switch_round_trip(
    open_person: OpenPerson, screenshot: Screenshots, lang: LocaleCode
) -> None:
    other = _other(lang)
    person = open_person(lang)
    page = person.page
    page.goto(MISSING + "?from=smoke")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    screenshot(page, f"before-{lang}")

    page.get_by_role("link", name=LANGUAGE_NAMES[other]).click()

    # Back on the same page (query kept), now in the other language, and remembered.
    expect(page).to_have_url(re.compile(re.escape(MISSING + "?from=smoke") + "$"))
    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.get_by_role("heading", level=1)).to_have_text(ui_text(other, "Page not found"))
    assert person.cookie(LANG_COOKIE) == other
    screenshot(page, f"switched-to-{other}")
    # The choice outranks the browser's Accept-Language on the next page too (L1).
    page.goto("/another-missing-page")
    expect(page.locator("html")).to_have_attribute("lang", other)

    page.get_by_role("link", name=LANGUAGE_NAMES[lang]).click()

    expect(page).to_have_url(re.compile(r"/another-missing-page$"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(ui_text(lang, "Page not found"))
    assert person.cookie(LANG_COOKIE) == lang
    screenshot(page, f"back-to-{lang}")


@LANGS
def test_pages_cause_no_csp_violation_and_chromium_enforces_the_policy(
    open_person: OpenPerson, lang: LocaleCode
) -> None:
    person = open_person(lang, expect_problems=True)
    page = person.page
    for path in ("/", MISSING):
        assert_security_headers(page.goto(path))
    page.get_by_role("link", name=LANGUAGE_NAMES[_other(lang)]).click()
    expect(page.locator("html")).to_have_attribute("lang", _other(lang))
    # The site's own stylesheet and script were allowed and loaded (style-src/script-src 'self').
    expect(page.locator("link[rel=stylesheet]")).to_have_count(1)
    assert page.evaluate("getComputedStyle(document.querySelector('.skip-link')).position") == (
        "absolute"
    )
    assert person.problems.csp_violations() == []
    assert person.problems.page_errors == []
    assert person.problems.server_errors == []

    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(INJECT_INLINE_SCRIPT)

    # Refused by the browser, and seen by the collector every journey relies on.
    assert page.evaluate("window.__nidanInjected") is None
    assert len(person.problems.csp_violations()) == 1


def test_pages_cannot_be_framed(open_person: OpenPerson, base_url: str) -> None:
    person = open_person("en", expect_problems=True)  # Chromium may log the refusal
    page = person.page
    page.goto("about:blank")

    page.set_content(f'<iframe title="framed" src="{base_url}{MISSING}"></iframe>')

    (framed,) = page.main_frame.child_frames
    # frame-ancestors 'none' (and X-Frame-Options): Chromium shows its own error instead.
    assert framed.url.startswith("chrome-error://"), framed.url
    expect(page.frame_locator("iframe").get_by_role("heading")).to_have_count(0)
    assert person.problems.page_errors == []
    assert person.problems.server_errors == []


@LANGS
def test_keyboard_focus_order_on_the_error_page(
    open_person: OpenPerson, screenshot: Screenshots, lang: LocaleCode
) -> None:
    page = open_person(lang).page
    page.goto(MISSING)
    skip = page.get_by_role("link", name=ui_text(lang, "Skip to main content"))
    expect(skip).not_to_be_in_viewport()  # out of sight until it has focus

    order = tab_through(page, 3)

    assert [(f.tag, f.text) if f else None for f in order] == [
        ("a", ui_text(lang, "Skip to main content")),
        ("a", LANGUAGE_NAMES[_other(lang)]),
        ("a", ui_text(lang, "Go to the start page")),
    ]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    screenshot(page, "skip-link-focused")

    page.keyboard.press("Enter")

    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")
    now = focused(page)
    assert now is not None
    assert now.text == ui_text(lang, "Go to the start page")


@LANGS
def test_error_page_fits_a_phone_screen(
    open_person: OpenPerson, screenshot: Screenshots, lang: LocaleCode
) -> None:
    page = open_person(lang, phone_screen=True).page

    page.goto(MISSING)

    expect(page.get_by_role("heading", level=1)).to_have_text(ui_text(lang, "Page not found"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "not-found-phone")
