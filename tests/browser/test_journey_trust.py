"""Trusted browsers in real browsers: "Don't require codes on this browser" ticked with a
right code, the next sign-in asks only the password; two trusted browsers listed so a
person tells them apart; one removed, and that browser is asked for a code again; and
clearing a browser's cookies ends its trust.
"""

from __future__ import annotations

from playwright.sync_api import expect

from idp.login import ACR_2SV, ACR_TRUSTED_BROWSER
from idp.services import Services
from idp.settings import Settings
from idp.web.i18n import LocaleCode
from tests.browser.journeys import ACCOUNT, LANGS, AuditTrail, Walk, session_of, trusted_browsers
from tests.browser.pages import USER_AGENTS, OpenPerson, Screenshots
from tests.browser.people import Authenticator, Outbox, PhoneBook, create_user, import_methods, sms


@LANGS
def test_trusted_browsers_skip_the_code_until_removed_or_cleared(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers T1 T2 T3 T4 S3 L1
    seller = create_user(services, locale=lang)
    app, phone = Authenticator.new(), phones.mobile()
    views = import_methods(services, seller, primary=app, backup=sms(phone))
    service_name = settings.ui.service_name
    laptop = Walk(open_person(lang, user_agent=USER_AGENTS["windows-chrome"]), screenshot)
    iphone = Walk(open_person(lang, user_agent=USER_AGENTS["iphone-safari"]), screenshot)

    # T1: a right code with the box ticked trusts the laptop's browser.
    laptop.open_account("laptop-sign-in")
    laptop.password(seller)
    laptop.expect_code_page(views["primary"].description, snap="laptop-code")
    trust_box = laptop.field(laptop.text("Don't require codes on this browser"))
    expect(trust_box).not_to_be_checked()  # never trusted unless the person asks
    laptop.enter_code(app.fresh_code(), trust=True, snap="laptop-trust-ticked")
    laptop.expect_signed_in(seller, "laptop-signed-in")
    laptop.expect_browser_count(1)
    (trusted,) = trusted_browsers(services, seller)
    assert laptop.person.cookie(services.devices.cookie_name(seller.id))
    assert audit.named("device.trusted", seller.id)[0]["device_id"] == trusted.device_id

    # The next sign-in on the laptop asks for the password only.
    laptop.sign_out(service_name, "laptop-signed-out")
    laptop.link(laptop.account_text("Sign in again")).click()
    laptop.expect_page("/login", laptop.text("Sign in"), "laptop-sign-in-again")
    laptop.password(seller)
    laptop.expect_signed_in(seller, "laptop-password-only")
    session = session_of(services, laptop.person)
    assert session is not None
    assert (session.acr, session.amr) == (ACR_TRUSTED_BROWSER, ("pwd",))
    assert [e["device_id"] for e in audit.named("login.trusted_browser", seller.id)] == [
        trusted.device_id]

    # The iPhone is another browser: the code is asked; the backup's text message is used.
    iphone.open_account("iphone-sign-in")
    iphone.password(seller)
    iphone.expect_code_page(views["primary"].description, snap="iphone-code")
    iphone.didnt_receive_the_code()
    iphone.expect_code_page(views["backup"].description, backup=True, snap="iphone-backup")
    iphone.enter_code(outbox.latest_code(phone, channel="sms"), trust=True)
    iphone.expect_signed_in(seller, "iphone-signed-in")
    session = session_of(services, iphone.person)
    assert session is not None
    assert (session.acr, session.amr) == (ACR_2SV, ("pwd", "sms", "mfa"))

    # T3: two entries, each named so a person recognises it, with dates and address.
    iphone.expect_browser_count(2)
    records = {record.label: record for record in trusted_browsers(services, seller)}
    assert len(records) == 2, records  # two labels: no two entries alike
    by_browser = {("Chrome" if "Chrome" in label else "Safari"): record
                  for label, record in records.items()}
    assert by_browser.keys() == {"Chrome", "Safari"}
    names = iphone.trusted_browsers().locator("h3")
    expect(names).to_have_text(
        [iphone.browser_name(by_browser["Safari"].label),  # newest first
         iphone.browser_name(by_browser["Chrome"].label)])
    for entry in iphone.trusted_browsers().all():
        expect(entry).to_contain_text(iphone.account_text("Added"))
        expect(entry).to_contain_text(iphone.account_text("Last used"))
        expect(entry.locator("code")).to_have_text("127.0.0.1")
    iphone.shot(iphone.page, "two-browsers")

    # Remove the laptop's browser from the iPhone.
    laptop_entry = iphone.trusted_browsers().filter(
        has=iphone.page.get_by_role("heading",
                                    name=iphone.browser_name(by_browser["Chrome"].label)))
    laptop_entry.get_by_role("button", name=iphone.account_text("Remove")).click()
    iphone.expect_page(ACCOUNT, iphone.account_text("Security settings"), "iphone-removed-laptop")
    iphone.expect_notice(iphone.text("That browser will ask for a code at its next sign-in."))
    iphone.expect_browser_count(1)
    expect(iphone.trusted_browsers().locator("h3")).to_have_text(
        iphone.browser_name(by_browser["Safari"].label))
    assert [r.device_id for r in trusted_browsers(services, seller)] == [
        by_browser["Safari"].device_id]
    (revoked,) = audit.named("device.revoked", seller.id)
    assert (revoked["device_id"], revoked["actor"]) == (by_browser["Chrome"].device_id, "user")

    # T4: removal takes effect at once: the laptop still holds its cookie, and is asked.
    laptop.page.goto(ACCOUNT)
    laptop.sign_out(service_name, "laptop-signed-out-again")
    assert laptop.person.cookie(services.devices.cookie_name(seller.id))
    laptop.page.goto(ACCOUNT)
    laptop.password(seller)
    laptop.expect_code_page(views["primary"].description, snap="laptop-asked-again")
    (rejected,) = audit.named("device.rejected", seller.id)
    assert rejected["device_id"] == by_browser["Chrome"].device_id
    assert not laptop.person.cookie(services.devices.cookie_name(seller.id))  # cleared

    # T2: clearing the iPhone's cookies ends its trust: the code is asked again.
    iphone.person.clear_cookies()
    iphone.open_account("iphone-cookies-cleared")
    iphone.password(seller)
    iphone.expect_code_page(views["primary"].description, snap="iphone-asked-again")
    assert len(audit.named("login.trusted_browser", seller.id)) == 1
    assert session_of(services, iphone.person) is None  # no session cookie either
