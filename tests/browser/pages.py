"""The browser side of the journeys: one browser context per person, what the pages say in
each language, screenshots, security headers, keyboard focus, and problems a page reports.

Everything waits the Playwright way (auto-waiting actions, ``expect``); nothing here sleeps.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Final, Protocol

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response, ViewportSize
from playwright.sync_api import Error as PlaywrightError
from pytest_playwright.pytest_playwright import CreateContextCallback

from idp.web.i18n import Catalogues, LocaleCode

__all__ = [
    "ACCEPT_LANGUAGE",
    "BROWSER_LOCALE",
    "DEFAULT_TIMEOUT_MS",
    "PHONE_SCREEN",
    "USER_AGENTS",
    "Focused",
    "OpenPerson",
    "PageProblems",
    "Screenshots",
    "Visitor",
    "assert_security_headers",
    "focused",
    "has_japanese_glyphs",
    "open_person",
    "screenshot_folder",
    "tab_through",
    "ui_nptext",
    "ui_ntext",
    "ui_ptext",
    "ui_text",
]

# What a person's browser says about their language: the locale (navigator.language, date
# formats) and the Accept-Language header the server negotiates on (BEHAVIOUR L1).
BROWSER_LOCALE: Final[Mapping[LocaleCode, str]] = {"ja": "ja-JP", "en": "en-US"}
ACCEPT_LANGUAGE: Final[Mapping[LocaleCode, str]] = {"ja": "ja-JP,ja;q=0.9", "en": "en-US,en;q=0.9"}
# Actions and auto-waiting give up after this long (Playwright's default is 30 s): a broken
# page fails in seconds, and a loaded 2-core machine still has ample margin.
DEFAULT_TIMEOUT_MS: Final = 15_000
# A phone-sized screen (an iPhone 12-15 in CSS pixels), for "usable on a phone" checks.
PHONE_SCREEN: Final[ViewportSize] = {"width": 390, "height": 844}
# Real browsers' User-Agent strings, so two trusted browsers get distinguishable labels.
USER_AGENTS: Final[Mapping[str, str]] = {
    "windows-chrome": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36"
    ),
    "iphone-safari": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    ),
    "mac-firefox": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0"
    ),
}


# -- what the pages say ---------------------------------------------------------------------


@cache
def _catalogues() -> Catalogues:
    return Catalogues.load()


def ui_text(lang: LocaleCode, msgid: str, **params: object) -> str:
    """What the pages show for ``msgid`` in ``lang`` (the server's own catalogues), with
    ``%(name)s`` fields filled. Raises KeyError if the msgid is unknown, or has no Japanese
    translation: a journey must not pass by finding English text on a Japanese page."""
    catalogues = _catalogues()
    message = catalogues.catalogs[lang].get(msgid)
    if message is None:
        raise KeyError(f"msgid {msgid!r} is not in the {lang} catalogue")
    if lang != "en" and not message.string:
        raise KeyError(f"msgid {msgid!r} has no {lang} translation")
    text = catalogues.translations(lang).gettext(msgid)
    return text % params if params else text


def ui_ntext(lang: LocaleCode, singular: str, plural: str, n: int, **params: object) -> str:
    """Plural form of :func:`ui_text` (``num`` is filled with ``n``)."""
    catalogues = _catalogues()
    if catalogues.catalogs[lang].get(singular) is None:
        raise KeyError(f"msgid {singular!r} is not in the {lang} catalogue")
    text = catalogues.translations(lang).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def ui_ptext(lang: LocaleCode, context: str, msgid: str, **params: object) -> str:
    """:func:`ui_text` of a message with a context (``pgettext``: the settings pages'
    strings carry the context ``"account"``). Raises KeyError like :func:`ui_text`."""
    catalogues = _catalogues()
    message = catalogues.catalogs[lang].get(msgid, context=context)
    if message is None:
        raise KeyError(f"msgid {msgid!r} (context {context!r}) is not in the {lang} catalogue")
    if lang != "en" and not message.string:
        raise KeyError(f"msgid {msgid!r} (context {context!r}) has no {lang} translation")
    text = str(catalogues.translations(lang).pgettext(context, msgid))
    return text % params if params else text


def ui_nptext(
    lang: LocaleCode, context: str, singular: str, plural: str, n: int, **params: object
) -> str:
    """Plural form of :func:`ui_ptext` (``num`` is filled with ``n``)."""
    catalogues = _catalogues()
    if catalogues.catalogs[lang].get(singular, context=context) is None:
        raise KeyError(f"msgid {singular!r} (context {context!r}) is not in the {lang} catalogue")
    text = str(catalogues.translations(lang).npgettext(context, singular, plural, n))
    return text % {"num": n, **params}


# -- problems a page reports ----------------------------------------------------------------


@dataclass
class PageProblems:
    """What went wrong in a person's pages, collected as it happens: console messages,
    uncaught script errors (``pageerror``) and server errors (HTTP 5xx)."""

    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    page_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append((message.type, message.text))

    def _on_page_error(self, error: PlaywrightError) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def csp_violations(self) -> list[str]:
        """Console messages about the Content Security Policy (Chromium reports every
        blocked script, style, frame or form there)."""
        return [text for _type, text in self.console if "Content Security Policy" in text]

    def assert_clean(self) -> None:
        """No CSP violation, no uncaught script error, no server error."""
        found = [
            *(f"CSP: {text}" for text in self.csp_violations()),
            *(f"script error: {text}" for text in self.page_errors),
            *(f"server error: {text}" for text in self.server_errors),
        ]
        assert not found, "the pages reported problems:\n" + "\n".join(found)


# -- one person, one browser ----------------------------------------------------------------


@dataclass
class Visitor:
    """Someone at their own browser: a fresh context (own cookies, storage, language) and a
    first tab ``page``. Problems of every tab are collected in ``problems``."""

    lang: LocaleCode
    context: BrowserContext
    page: Page
    problems: PageProblems
    expect_problems: bool = False  # True: the test provokes problems and checks them itself

    def new_page(self) -> Page:
        """Another tab in the same browser (same cookies)."""
        return self.context.new_page()

    def clear_cookies(self) -> None:
        """Forget every cookie, as "clear browsing data" would (a new sign-in follows)."""
        self.context.clear_cookies()

    def cookie(self, name: str) -> str | None:
        """The value of this browser's cookie ``name``, or None."""
        for cookie in self.context.cookies():
            if cookie.get("name") == name:
                return cookie.get("value")
        return None


class OpenPerson(Protocol):
    """The ``open_person`` fixture: ``open_person("ja")`` -> a :class:`Visitor`."""

    def __call__(
        self,
        lang: LocaleCode,
        *,
        user_agent: str | None = None,
        phone_screen: bool = False,
        expect_problems: bool = False,
        javascript: bool = True,
    ) -> Visitor: ...


def open_person(
    new_context: CreateContextCallback,
    lang: LocaleCode,
    *,
    user_agent: str | None = None,
    phone_screen: bool = False,
    expect_problems: bool = False,
    javascript: bool = True,
) -> Visitor:
    """A new browser context speaking ``lang`` (locale and Accept-Language), optionally with
    another User-Agent (:data:`USER_AGENTS`), a phone-sized touch screen, or script turned
    off (``javascript=False``: the pages must work without it). Made through
    pytest-playwright's ``new_context``, so ``--tracing``/``--video``/``--screenshot`` work
    and the context is closed after the test."""
    context = new_context(
        locale=BROWSER_LOCALE[lang],
        extra_http_headers={"Accept-Language": ACCEPT_LANGUAGE[lang]},
        user_agent=user_agent,
        viewport=PHONE_SCREEN if phone_screen else None,
        is_mobile=phone_screen or None,
        has_touch=phone_screen or None,
        java_script_enabled=javascript,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    problems = PageProblems()
    # Every tab, including ones the page opens itself, is watched from its first request.
    context.on("page", problems.watch)
    page = context.new_page()
    return Visitor(lang, context, page, problems, expect_problems)


# -- screenshots ----------------------------------------------------------------------------


class Screenshots:
    """Full-page PNGs of one test, numbered in the order taken:
    ``<folder>/<nn>-<name>.png``. The folder is emptied when the test starts, so it only
    ever holds the latest run's pictures."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []
        shutil.rmtree(folder, ignore_errors=True)

    def __call__(self, page: Page, name: str) -> Path:
        """Save ``page`` (full length) as the next picture, named ``name``; returns the path."""
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        if not slug:
            raise ValueError(f"a screenshot needs a name with letters or digits, got {name!r}")
        path = self.folder / f"{len(self.taken) + 1:02d}-{slug}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path, full_page=True)
        self.taken.append(path)
        return path


def screenshot_folder(artifacts: Path, module: str, test_name: str) -> Path:
    """``<artifacts>/screenshots/<module>.<test>``: ``test_name`` is pytest's item name
    without the browser parameter (``test_home[chromium-ja]`` -> ``test_home-ja``)."""
    name = re.sub(r"(?<=[\[-])chromium-|-?chromium(?=\])", "", test_name).replace("[]", "")
    slug = re.sub(r"[^A-Za-z0-9_.]+", "-", f"{module}.{name}").strip("-")
    return artifacts / "screenshots" / slug


# -- checks ---------------------------------------------------------------------------------

# Draws two different Japanese strings on a canvas: without a font that has the glyphs, both
# come out as the same row of empty boxes ("tofu"), pixel for pixel.
_JAPANESE_GLYPHS: Final = """() => {
  const draw = (text) => {
    const canvas = document.createElement('canvas');
    canvas.width = 160; canvas.height = 48;
    const g = canvas.getContext('2d');
    g.font = '32px sans-serif';
    g.fillText(text, 4, 36);
    return g.getImageData(0, 0, canvas.width, canvas.height).data.join(',');
  };
  return draw('日本語') !== draw('語語語');
}"""


def has_japanese_glyphs(page: Page) -> bool:
    """Can this browser draw Japanese? (Debian's Chromium can't without a CJK font package:
    Japanese screenshots would be rows of empty boxes.)"""
    return bool(page.evaluate(_JAPANESE_GLYPHS))



def _csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        if name:
            directives[name.lower()] = values
    return directives


def assert_security_headers(response: Response | None, *, no_store: bool = True) -> None:
    """The headers the browser received for a page: a CSP without inline script, never
    framed, no MIME sniffing, a referrer policy that keeps URLs on this site, and (unless
    ``no_store=False``) ``Cache-Control: no-store``."""
    assert response is not None, "no response (the navigation did not reach the server)"
    headers = response.all_headers()
    policy = _csp_directives(headers.get("content-security-policy", ""))
    assert policy.get("default-src") == ["'self'"], policy
    script_src = policy.get("script-src", [])
    assert script_src, policy
    assert not {"'unsafe-inline'", "'unsafe-eval'"} & set(script_src), script_src
    assert policy.get("frame-ancestors") == ["'none'"], policy
    assert policy.get("form-action") == ["'self'"], policy
    assert headers.get("x-frame-options", "").upper() == "DENY"
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") in {"no-referrer", "same-origin", "strict-origin"}
    if no_store:
        assert "no-store" in headers.get("cache-control", ""), headers.get("cache-control")


@dataclass(frozen=True)
class Focused:
    """The element that has keyboard focus, described for assertions."""

    tag: str
    text: str
    href: str | None
    id: str | None


_DESCRIBE_FOCUS: Final = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return {tag: el.tagName.toLowerCase(), text: (el.innerText || el.value || '').trim(),
          href: el.getAttribute('href'), id: el.id || null};
}"""


def focused(page: Page) -> Focused | None:
    """What has focus now (None: nothing, or the body)."""
    found = page.evaluate(_DESCRIBE_FOCUS)
    return None if found is None else Focused(**found)


def tab_through(page: Page, presses: int) -> list[Focused | None]:
    """Press Tab ``presses`` times from where focus is (the top of a page that was just
    loaded and not clicked), recording what receives focus each time."""
    order: list[Focused | None] = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        order.append(focused(page))
    return order
