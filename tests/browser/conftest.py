"""Fixtures of the real-browser tests: Debian's Chromium driven by Playwright (through
pytest-playwright), against the whole Nidan application on a loopback port.

Shared by the whole run (session scope): the browser (launched once, ~0.6 s) and one live
server (:mod:`tests.browser.server`). Per test: a browser context per person
(``open_person``), numbered screenshots (``screenshot``). Every test in this folder that
uses a browser is marked ``browser`` (``-m "not browser"`` leaves them out). See
docs/testing.md for how to write a journey.

Overridden here for this folder: ``base_url`` (pytest-playwright's; every context opens
relative URLs on the live server), ``settings`` and ``services`` (the root conftest's would
be a second, empty store the server never sees).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Browser
from pytest_playwright.pytest_playwright import CreateContextCallback

from idp.services import Services
from idp.settings import Settings
from idp.web.i18n import LocaleCode
from tests.browser.journeys import AuditTrail
from tests.browser.pages import (
    OpenPerson,
    Screenshots,
    Visitor,
    has_japanese_glyphs,
    screenshot_folder,
)
from tests.browser.pages import open_person as make_person
from tests.browser.people import Outbox, PhoneBook
from tests.browser.server import LiveNidan, serve_nidan

CHROMIUM: Final = Path("/usr/bin/chromium")
# The flags known to work with Debian's Chromium on these machines (TOOLING.md "Real browser
# tests"): no sandbox (containers lack the user namespaces it needs), no GPU, and no
# background traffic (updates, sync, QUIC probes) so the only network peer is our server.
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
CHROMIUM_MISSING: Final = "chromium not found: run the README's test command, which installs it"
JAPANESE_FONT_MISSING: Final = (
    "no Japanese font: screenshots of Japanese pages would show empty boxes; install Debian's "
    "fonts-noto-cjk (apt-get install -y --no-install-recommends fonts-noto-cjk)"
)
# Git-ignored; screenshots of every journey step land under <here>/screenshots/<test>/.
ARTIFACTS: Final = "test-artifacts"
HERE: Final = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder that drives a browser with ``browser`` (before
    ``-m`` deselects anything). Tests here that need no browser stay unmarked."""
    for item in items:
        if HERE in item.path.parents and "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


# -- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], pytestconfig: pytest.Config
) -> dict[str, Any]:
    """Debian's Chromium (never a browser Playwright downloads: ``playwright install``
    cannot work here) with :data:`CHROMIUM_ARGS`. ``--headed`` drops ``--headless`` (it
    needs a display: not on these machines); ``--slowmo`` passes through."""
    if not CHROMIUM.exists():
        pytest.fail(CHROMIUM_MISSING, pytrace=False)
    if pytestconfig.getoption("--browser") not in ([], ["chromium"]):
        pytest.fail("the browser tests run on chromium only (Debian's)", pytrace=False)
    if browser_type_launch_args.get("channel"):
        pytest.fail("--browser-channel cannot point at Debian's chromium: drop it", pytrace=False)
    headless = browser_type_launch_args.get("headless", True)
    args = [arg for arg in CHROMIUM_ARGS if headless or arg != "--headless"]
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": args}


# -- the server -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nidan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNidan]:
    """The live Nidan shared by the run: ``base_url``, ``settings``, ``services``."""
    with serve_nidan(tmp_path_factory.mktemp("nidan")) as live:
        yield live


@pytest.fixture(scope="session")
def base_url(nidan: LiveNidan) -> str:
    """``http://127.0.0.1:<port>``, the issuer; ``page.goto("/account")`` goes there."""
    return nidan.base_url


@pytest.fixture(scope="session")
def settings(nidan: LiveNidan) -> Settings:
    return nidan.settings


@pytest.fixture(scope="session")
def services(nidan: LiveNidan) -> Services:
    """The live server's own services (same store): set up users, assert on records."""
    return nidan.services


@pytest.fixture(scope="session")
def outbox(nidan: LiveNidan) -> Outbox:
    """Every SMS and voice call the server sent (read the codes from here)."""
    return Outbox(nidan.outbox_path)


@pytest.fixture
def audit(services: Services) -> Iterator[AuditTrail]:
    """The audit events the live server emits during this test (``.named(event, user_id)``)."""
    trail = AuditTrail()
    services.audit.listeners.append(trail.record)
    yield trail
    services.audit.listeners.remove(trail.record)


@pytest.fixture(scope="session")
def phones() -> PhoneBook:
    """Unique phone numbers: ``phones.mobile()``, ``phones.ip_phone()``, ``phones.landline()``."""
    return PhoneBook()


# -- per test -------------------------------------------------------------------------------


@pytest.fixture
def open_person(new_context: CreateContextCallback) -> Iterator[OpenPerson]:
    """``open_person("ja")``: a fresh browser (context) for one person, speaking ``ja`` or
    ``en``. After the test, every person's pages must have reported no CSP violation, no
    script error and no server error, unless opened with ``expect_problems=True``."""
    people: list[Visitor] = []

    def _open(
        lang: LocaleCode,
        *,
        user_agent: str | None = None,
        phone_screen: bool = False,
        expect_problems: bool = False,
        javascript: bool = True,
    ) -> Visitor:
        person = make_person(
            new_context, lang, user_agent=user_agent, phone_screen=phone_screen,
            expect_problems=expect_problems, javascript=javascript,
        )
        people.append(person)
        return person

    yield _open
    for person in people:
        if not person.expect_problems:
            person.problems.assert_clean()


@pytest.fixture(scope="session")
def japanese_font(browser: Browser) -> None:
    """Fails unless the browser can draw Japanese (screenshots are for people to review)."""
    with closing(browser.new_page()) as page:
        if not has_japanese_glyphs(page):
            pytest.fail(JAPANESE_FONT_MISSING, pytrace=False)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, japanese_font: None) -> Screenshots:
    """``screenshot(page, "password")`` saves a full-page PNG as
    ``test-artifacts/screenshots/<module>.<test>/<nn>-password.png`` and returns the path."""
    module = Path(str(request.node.path)).stem
    root = request.config.rootpath / ARTIFACTS
    return Screenshots(screenshot_folder(root, module, request.node.name))
