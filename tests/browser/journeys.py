"""Reusable steps of the sign-in journeys, as a person takes them in a real browser: open a
page, read what it says, type, click. Every text is looked up in the server's catalogues
for the page's language (:func:`tests.browser.pages.ui_text`), never written in English
here, so a Japanese page is checked against its Japanese.

A :class:`Walk` is one person at one browser taking the journey, with a screenshot at every
step. Codes come from where a person gets them: the authenticator app computed from the
secret shown on the page, or the SMS and voice messages in the outbox. :class:`AuditTrail`
records what the server audited meanwhile (``services.audit.listeners``).

Nothing sleeps: every step waits the Playwright way (auto-waiting actions, ``expect``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

import pytest
from playwright.sync_api import Locator, Page, expect

from idp.devices import TrustedBrowser
from idp.observability import AuditEvent
from idp.services import Services
from idp.sessions import SsoSession
from idp.users import method_user
from idp.web.i18n import ERROR_MESSAGES, LocaleCode
from tests.browser.pages import (
    Screenshots,
    Visitor,
    ui_nptext,
    ui_ntext,
    ui_ptext,
    ui_text,
)
from tests.browser.people import Authenticator, Seller

__all__ = [
    "ACCOUNT",
    "LANGS",
    "AuditTrail",
    "Walk",
    "error_pattern",
    "error_text",
    "session_of",
    "stored_methods",
    "text_pattern",
    "trusted_browsers",
]

# Every journey once in Japanese and once in English (BEHAVIOUR L1, via Accept-Language).
LANGS: Final = pytest.mark.parametrize("lang", ["ja", "en"])
# The security settings page: opening it signed out starts the journey, which ends there.
ACCOUNT: Final = "/account"
# The settings pages' strings carry this message context (pgettext).
_ACCOUNT_CONTEXT: Final = "account"
_PATH: Final = r"(?:\?[^#]*)?$"


def error_text(lang: LocaleCode, code: str, **params: object) -> str:
    """The message a page shows for error ``code`` (``idp.web.i18n.ERROR_MESSAGES``) in
    ``lang``; its ``{name}`` fields are filled like the server fills them."""
    return ui_text(lang, ERROR_MESSAGES[code]).format(**params)


def error_pattern(lang: LocaleCode, code: str) -> re.Pattern[str]:
    """The message of error ``code`` in ``lang`` with any number in its ``{name}`` fields
    ("Please wait 28 seconds ..."): for messages whose figures depend on the clock."""
    parts = re.split(r"\{\w+\}", ui_text(lang, ERROR_MESSAGES[code]))
    return re.compile(r"\d+".join(re.escape(part) for part in parts))


def text_pattern(text: str, field: str, value: str) -> re.Pattern[str]:
    """``text`` with the ``%(field)s`` placeholder matching the regex ``value``."""
    before, _, after = text.partition(f"%({field})s")
    return re.compile(re.escape(before) + value + re.escape(after))


def at(path: str) -> re.Pattern[str]:
    """A URL on this server whose path is ``path`` (any query string)."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + _PATH)


def trusted_browsers(services: Services, seller: Seller) -> list[TrustedBrowser]:
    """The server's list of the seller's trusted browsers (newest first), read with the
    account as it is now (a change of methods moves its security epoch)."""
    user = services.accounts.get(seller.id)
    assert user is not None, "the account is gone"
    return services.devices.list(user)


def stored_methods(services: Services, seller: Seller) -> dict[str, str]:
    """What the server stored: role -> method id (``{"primary": "totp", ...}``)."""
    views = services.methods.credentials(method_user(seller.user))
    return {role: view.method for role, view in views.items()}


def session_of(services: Services, person: Visitor) -> SsoSession | None:
    """The live SSO session the server holds for this browser's session cookie."""
    token = person.cookie(services.sessions.cookie_name)

    def epoch(user_id: str) -> int | None:
        user = services.accounts.get(user_id)
        return user.security_epoch if user is not None and user.active else None

    return services.sessions.current(token, user_epoch=epoch)


@dataclass
class AuditTrail:
    """The audit events the live server emitted while a test ran (a listener on
    ``services.audit``; see the ``audit`` fixture)."""

    events: list[AuditEvent] = field(default_factory=list)

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)

    def named(self, name: str, user_id: str | None = None) -> list[AuditEvent]:
        """Events called ``name`` (of ``user_id`` if given), oldest first."""
        return [
            event for event in self.events
            if event["event"] == name and (user_id is None or event.get("user_id") == user_id)
        ]


@dataclass
class Walk:
    """One person taking the journey in their browser: what they read, type and click,
    with a numbered screenshot after every step that shows a new page."""

    person: Visitor
    shot: Screenshots

    @property
    def page(self) -> Page:
        return self.person.page

    @property
    def lang(self) -> LocaleCode:
        return self.person.lang

    # -- what the pages say ------------------------------------------------------------------

    def text(self, msgid: str, **params: object) -> str:
        return ui_text(self.lang, msgid, **params)

    def account_text(self, msgid: str, **params: object) -> str:
        """A string of the settings pages (message context ``account``)."""
        return ui_ptext(self.lang, _ACCOUNT_CONTEXT, msgid, **params)

    def account_ntext(self, singular: str, plural: str, n: int, **params: object) -> str:
        """A plural string of the settings pages (``npgettext``, context ``account``)."""
        return ui_nptext(self.lang, _ACCOUNT_CONTEXT, singular, plural, n, **params)

    def error(self, code: str, **params: object) -> str:
        return error_text(self.lang, code, **params)

    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    def expect_page(self, path: str, heading: str, snap: str) -> None:
        """The browser is on ``path``, headed ``heading``, in the person's language; a
        screenshot named ``snap`` is taken."""
        expect(self.page).to_have_url(at(path))
        expect(self.heading()).to_have_text(heading)
        expect(self.page.locator("html")).to_have_attribute("lang", self.lang)
        self.shot(self.page, snap)

    def expect_alert(self, message: str) -> None:
        """A problem with the form is announced (role=alert) with ``message``."""
        expect(self.page.get_by_role("alert")).to_contain_text(message)

    def expect_notice(self, message: str) -> None:
        """Good news or information is announced (role=status) with ``message``."""
        expect(self.page.get_by_role("status").filter(has_text=message)).to_be_visible()

    def button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=name, exact=True)

    def link(self, name: str) -> Locator:
        return self.page.get_by_role("link", name=name, exact=True)

    def field(self, label: str) -> Locator:
        """The input labelled ``label`` (a section may be labelled by a heading with the
        same words: "電話番号" heads the page and labels the field)."""
        return self.page.get_by_label(label, exact=True).and_(self.page.locator("input"))

    # -- signing in ----------------------------------------------------------------------------

    def open_account(self, snap: str = "sign-in") -> None:
        """Open the security settings signed out: the sign-in page (S1)."""
        self.page.goto(ACCOUNT)
        self.expect_page("/login", self.text("Sign in"), snap)

    def password(self, seller: Seller, snap: str | None = None) -> None:
        """Type the email address and password on the sign-in page and sign in."""
        self.field(self.text("Email address")).fill(seller.email)
        self.field(self.text("Your password")).fill(seller.password)
        if snap:
            self.shot(self.page, snap)
        self.button(self.text("Sign in")).click()

    def expect_code_page(self, description: str, *, backup: bool = False,
                         snap: str = "code") -> None:
        """The code page asks for the code of the method ``description`` (as the server
        describes it, in this language); ``backup``: "(your backup method)" is said."""
        self.expect_page("/login/code", self.text("Enter your code"), snap)
        method = self.page.locator("p.method")
        expect(method).to_contain_text(self.text("Method: %(description)s",
                                                 description=description))
        if backup:
            expect(method).to_contain_text(self.text("(your backup method)"))
        else:
            expect(method).not_to_contain_text(self.text("(your backup method)"))
        code = self.field(self.text("6-digit code"))
        expect(code).to_have_attribute("autocomplete", "one-time-code")
        expect(code).to_have_attribute("inputmode", "numeric")

    def expect_code_sent(self, masked: str, minutes: int) -> None:
        """The code page says the code went to the masked number, valid ``minutes``."""
        expect(self.page.get_by_text(
            self.text("We sent a 6-digit code to %(to)s. It works for %(minutes)s minutes.",
                      to=masked, minutes=minutes)
        )).to_be_visible()

    def enter_code(self, code: str, *, trust: bool = False, snap: str | None = None) -> None:
        """Type the code, tick "Don't require codes on this browser" if ``trust`` (T1), and
        verify."""
        self.field(self.text("6-digit code")).fill(code)
        if trust:
            self.field(self.text("Don't require codes on this browser")).check()
        if snap:
            self.shot(self.page, snap)
        self.button(self.text("Verify and sign in")).click()

    def didnt_receive_the_code(self) -> None:
        """S3: the link to the backup method."""
        self.link(self.text("Didn't receive the code?")).click()

    def expect_signed_in(self, seller: Seller, snap: str = "signed-in") -> None:
        """The journey ended on the security settings page, signed in as ``seller``."""
        self.expect_page(ACCOUNT, self.account_text("Security settings"), snap)
        expect(self.page.get_by_text(
            self.account_text("Signed in as %(email)s", email=seller.email)
        )).to_be_visible()

    def sign_out(self, service_name: str, snap: str = "signed-out") -> None:
        """"Sign out of <service>" on the settings page."""
        self.button(self.account_text("Sign out of %(service)s", service=service_name)).click()
        self.expect_page("/account/sign-out", self.account_text("You are signed out"), snap)

    # -- setting up (E1-E7) ----------------------------------------------------------------------

    def expect_enroll_choice(self, role: Literal["primary", "backup"], snap: str) -> None:
        """The set-up chooser for ``role`` (E1, E2)."""
        if role == "primary":
            self.expect_page("/login/enroll", self.text("Set up two-step verification"), snap)
            expect(self.page.get_by_role("heading", level=2)).to_have_text(
                self.text("Step 1 of 2: your primary method"))
        else:
            self.expect_page("/login/enroll", self.text("Add a backup method"), snap)
            expect(self.page.get_by_role("heading", level=2)).to_have_text(
                self.text("Step 2 of 2: your backup method"))

    def choose(self, method_id: str) -> None:
        """Pick a method on the chooser and go on."""
        self.page.locator(f"#method-{method_id}").check()
        self.button(self.text("Next")).click()

    def expect_phone_page(self, snap: str) -> None:
        self.expect_page("/login/enroll/details", self.text("Your phone number"), snap)
        phone = self.field(self.text("Phone number"))
        expect(phone).to_have_attribute("type", "tel")
        expect(phone).to_have_attribute("autocomplete", "tel")

    def enter_phone(self, number: str, snap: str | None = None) -> None:
        self.field(self.text("Phone number")).fill(number)
        if snap:
            self.shot(self.page, snap)
        self.button(self.text("Send a code to check it")).click()

    def expect_verify_page(self, snap: str) -> None:
        self.expect_page("/login/enroll/verify", self.text("Check your new method"), snap)

    def app_secret(self) -> str:
        """E6: the QR code is shown, and the secret as text to type into the app by hand."""
        expect(self.page.get_by_text(self.text("Scan this QR code with the app:"))).to_be_visible()
        expect(self.page.locator(".qr svg")).to_be_visible()
        secret = self.page.locator("code.secret")
        expect(secret).to_have_text(re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$"))
        return secret.inner_text()

    def enroll_app(self, email: str, issuer: str, snap: str = "app-setup") -> Authenticator:
        """Choose the app on the chooser, type the secret shown into a new app, confirm
        with its code (E2, E6). Returns the app."""
        self.choose("totp")
        self.expect_verify_page(snap)
        app = Authenticator.from_page(self.app_secret())
        expect(self.page.locator(".setup-steps")).to_contain_text(self.text(
            "Account: %(account)s · Issuer: %(issuer)s · Time-based, 6 digits",
            account=email, issuer=issuer))
        self.confirm(app.fresh_code())
        return app

    def confirm(self, code: str) -> None:
        self.field(self.text("6-digit code")).fill(code)
        self.button(self.text("Confirm")).click()

    def expect_sent_to_new_number(self, masked: str) -> None:
        expect(self.page.get_by_text(self.text(
            "We sent a 6-digit code to %(to)s. Enter it to confirm this number.", to=masked
        ))).to_be_visible()

    def recovery_codes(self, count: int, snap: str = "recovery-codes") -> list[str]:
        """E7: the recovery codes page, shown once; returns the codes."""
        self.expect_page("/login/enroll/codes", self.text("Save your recovery codes"), snap)
        self.expect_notice(self.text("Two-step verification is set up."))
        codes = self.page.locator("ol.recovery-codes code")
        expect(codes).to_have_count(count)
        return [text.strip() for text in codes.all_inner_texts()]

    def download_recovery_codes(self) -> str:
        """The "download the codes" button: the text file the browser saves."""
        with self.page.expect_download() as download:
            self.button(self.text("Download the codes (text file)")).click()
        path = download.value.path()
        return path.read_text(encoding="utf-8")

    def finish_enrollment(self, *, trust: bool = False) -> None:
        if trust:
            self.field(self.text("Don't require codes on this browser")).check()
        self.button(self.text("I have saved my codes: continue")).click()

    # -- the settings page --------------------------------------------------------------------

    def method_section(self, role: Literal["primary", "backup"]) -> Locator:
        """The settings page's section of one method (its heading names the role)."""
        return self.page.locator(f'section[aria-labelledby="method-{role}-title"]')

    def trusted_browsers(self) -> Locator:
        return self.page.locator("li.account-browser")

    def expect_browser_count(self, count: int) -> None:
        """T3: "N browsers don't require a code" (or none)."""
        line = self.page.locator(".account-browsers__count")
        if count:
            expect(line).to_have_text(ui_ntext(
                self.lang, "%(num)s browser doesn't require a code",
                "%(num)s browsers don't require a code", count))
        else:
            expect(line).to_have_text(
                self.account_text("Every browser asks for a code when you sign in."))
        expect(self.trusted_browsers()).to_have_count(count)

    def browser_name(self, label: str) -> str:
        """How the settings page names a trusted browser labelled ``label`` ("Chrome 126
        on Windows", from the server's record) in this language."""
        browser, _on, system = label.rpartition(" on ")
        return self.account_text("%(browser)s on %(system)s", browser=browser, system=system)

