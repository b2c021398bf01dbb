"""The choices set-up refuses, each with its reason on the page: the app as both primary and
backup (E3), one phone number for both however it is written (E4), and an 050 IP-phone
number for text messages, with a voice call to it suggested instead (E5).
"""

from __future__ import annotations

from playwright.sync_api import expect

from idp.services import Services
from idp.settings import Settings
from idp.web.i18n import LocaleCode
from tests.browser.journeys import LANGS, AuditTrail, Walk, stored_methods
from tests.browser.pages import OpenPerson, Screenshots
from tests.browser.people import Outbox, PhoneBook, create_user


@LANGS
def test_app_twice_and_050_for_sms_are_refused_and_a_call_is_offered(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers E3 E5 E2 L1
    seller = create_user(services, locale=lang)
    ip_phone = phones.ip_phone()
    walk = Walk(open_person(lang), screenshot)
    walk.open_account()
    walk.password(seller)
    walk.expect_enroll_choice("primary", "choose-primary")
    walk.enroll_app(seller.email, settings.ui.service_name)

    # E3: the app is the primary, so it is shown for the backup, not choosable, with why.
    walk.expect_enroll_choice("backup", "choose-backup")
    app_choice = walk.page.locator("#method-totp")
    expect(app_choice).to_be_disabled()
    expect(walk.page.locator("#method-totp-why")).to_have_text(walk.error("app_both_roles"))
    expect(app_choice).to_have_attribute("aria-describedby", "method-totp-why")
    expect(walk.page.locator("input[name=method]:not([disabled])")).to_have_count(2)

    # E5: an 050 number can't receive text messages: refused, a voice call suggested.
    walk.choose("sms")
    walk.expect_phone_page("phone-number")
    walk.enter_phone(ip_phone.national)
    walk.expect_page("/login/enroll/details", walk.text("Your phone number"), "050-refused")
    walk.expect_alert(walk.error("phone_not_sms_capable"))
    expect(walk.field(walk.text("Phone number"))).to_have_value(ip_phone.national)
    assert outbox.messages(ip_phone) == []  # nothing was sent to it
    failed = audit.named("method.enroll.failed", seller.id)
    assert [e["error_code"] for e in failed] == ["phone_not_sms_capable"]

    walk.button(walk.text("Call this number instead (voice call)")).click()

    walk.expect_verify_page("voice-call-sent")
    walk.expect_sent_to_new_number(ip_phone.masked)
    call = outbox.latest(ip_phone, channel="voice")
    walk.confirm(call.code)
    walk.recovery_codes(settings.enrollment.recovery_codes)
    walk.finish_enrollment()
    walk.expect_signed_in(seller)
    expect(walk.method_section("backup")).to_contain_text(ip_phone.masked)

    assert stored_methods(services, seller) == {
        "primary": "totp", "backup": "voice"}
    assert services.methods.is_enrolled(seller.id)


@LANGS
def test_one_number_in_two_spellings_is_refused_as_backup(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers E4 E5 L1
    seller = create_user(services, locale=lang)
    mobile = phones.mobile()
    walk = Walk(open_person(lang), screenshot)
    walk.open_account()
    walk.password(seller)
    walk.expect_enroll_choice("primary", "choose-primary")

    # The primary: a text message to the number as a person in Japan writes it.
    walk.choose("sms")
    walk.expect_phone_page("phone-number")
    walk.enter_phone(mobile.national, snap="national-spelling")
    walk.expect_verify_page("sms-sent")
    walk.confirm(outbox.latest_code(mobile, channel="sms"))

    # The backup: a call to the same number, written the international way.
    walk.expect_enroll_choice("backup", "choose-backup")
    walk.choose("voice")
    walk.expect_phone_page("phone-number-backup")
    walk.enter_phone(mobile.international, snap="international-spelling")

    walk.expect_page("/login/enroll/details", walk.text("Your phone number"), "same-refused")
    walk.expect_alert(walk.error("same_phone_twice"))
    assert outbox.latest(mobile).channel == "sms"  # no call was made
    failed = audit.named("method.enroll.failed", seller.id)
    assert [(e["role"], e["error_code"]) for e in failed] == [("backup", "same_phone_twice")]
    # Nothing more was stored: the primary only, set-up not complete (E2).
    assert stored_methods(services, seller) == {"primary": "sms"}
    assert not services.methods.is_enrolled(seller.id)
