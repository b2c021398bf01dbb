""""This wasn't me" in real browsers: a second browser (trusted, the intruder's) signs in;
the person opens the link of the notice mail in their own browser and confirms; the second
browser's session and its trust end, its next sign-in asks for a code and then for a new
password; the link used again explains itself. The mail is read from the dev outbox, where
dev mode sends notices (the SMTP path has its own tests in tests/notices)."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from idp.delivery.outbox import read_outbox
from idp.services import Services
from idp.web.i18n import LocaleCode
from tests.browser.journeys import ACCOUNT, LANGS, AuditTrail, Walk, session_of, trusted_browsers
from tests.browser.pages import USER_AGENTS, OpenPerson, Screenshots
from tests.browser.people import Authenticator, Outbox, PhoneBook, create_user, import_methods, sms

_LINK = re.compile(r"https?://[^\s]+/account/not-me\?t=[^\s]+")


def _report_link(outbox: Outbox, to: str, timeout_s: float = 20.0) -> str:
    """The "this wasn't me" link of the newest notice to ``to`` (the worker sends notices
    within its poll interval)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for record in read_outbox(outbox.path, to=to):
            found = _LINK.search(str(record.get("text", "")))
            if record.get("channel") == "email" and found:
                return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no notice with a report link to {to}")


@LANGS
def test_this_wasnt_me_ends_the_other_browser(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, outbox: Outbox,
    phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers T4 L1
    seller = create_user(services, locale=lang)
    app = Authenticator.new()
    import_methods(services, seller, primary=app, backup=sms(phones.mobile()))
    own = Walk(open_person(lang, user_agent=USER_AGENTS["windows-chrome"]), screenshot)
    other = Walk(open_person(lang, user_agent=USER_AGENTS["iphone-safari"]), screenshot)

    own.open_account("own-sign-in")
    own.password(seller)
    own.enter_code(app.fresh_code())
    own.expect_signed_in(seller, "own-signed-in")
    # The other browser signs in and ticks "Don't require codes on this browser".
    other.open_account("other-sign-in")
    other.password(seller)
    other.enter_code(app.fresh_code(), trust=True)
    other.expect_signed_in(seller, "other-signed-in")
    assert session_of(services, other.person) is not None
    assert len(trusted_browsers(services, seller)) == 1

    link = _report_link(outbox, seller.email)
    own.page.goto(link)
    own.expect_page("/account/not-me", own.text("This wasn't me"), "report-confirm")
    own.button(own.text("Secure my account")).click()
    own.expect_page("/account/not-me", own.text("Your account is secured"), "report-done")
    assert audit.named("user.reported_not_me", seller.id)

    # The other browser: signed out, no longer trusted, and asked for a new password.
    assert session_of(services, other.person) is None
    assert trusted_browsers(services, seller) == []
    other.page.goto(ACCOUNT)
    other.expect_page("/login", other.text("Sign in"), "other-signed-out")
    other.password(seller)
    expect(other.page).to_have_url(re.compile(r"/login/code"))  # a code again (T4)
    other.enter_code(app.fresh_code())
    expect(other.page).to_have_url(re.compile(r"/account/password$"))
    screenshot(other.page, "other-password-first")

    # The link a second time says it was used.
    own.page.goto(link)
    own.expect_page("/account/not-me", own.text("This link can't be used"), "report-twice")
    expect(own.page.get_by_text(
        own.text("This link was already used. Each link works only once."))).to_be_visible()
