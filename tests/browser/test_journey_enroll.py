"""A new seller's first sign-in in a real browser: the password, then the set-up that two-step
verification requires (the app as primary, typed in from the secret shown; a text message
as backup), the recovery codes shown once, and the settings page, signed in.
"""

from __future__ import annotations

from playwright.sync_api import expect

from idp.login import ACR_2SV
from idp.services import Services
from idp.settings import Settings
from idp.users import method_user
from idp.web.i18n import LocaleCode
from tests.browser.journeys import (
    LANGS,
    AuditTrail,
    Walk,
    session_of,
    stored_methods,
    trusted_browsers,
)
from tests.browser.pages import OpenPerson, Screenshots
from tests.browser.people import Outbox, PhoneBook, create_user


@LANGS
def test_new_user_sets_up_app_and_sms_and_lands_signed_in(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers S1 E1 E2 E6 E7 L1
    seller = create_user(services, locale=lang)
    phone = phones.mobile()
    walk = Walk(open_person(lang), screenshot)
    issuer = settings.ui.service_name

    walk.open_account()
    walk.password(seller, snap="password-typed")

    # E1: straight after the password, before anything else: set up two methods.
    walk.expect_enroll_choice("primary", "choose-primary")
    expect(walk.page.get_by_text(walk.text(
        "Two-step verification is required for your account. Each time you sign in, you "
        "enter your password and then a code from a device you have, so your account stays "
        "safe even if someone learns your password."))).to_be_visible()
    expect(walk.page.locator("input[name=method]:not([disabled])")).to_have_count(3)
    expect(walk.page.locator("#method-totp")).to_be_checked()  # the recommended choice

    # E6: the app: a QR code and the secret to type in by hand, then the app's code.
    walk.enroll_app(seller.email, issuer)

    # E2: the primary is saved, set-up is not complete until the backup is verified too.
    walk.expect_enroll_choice("backup", "choose-backup")
    totp_label = services.methods.methods["totp"].label(lang)
    expect(walk.page.get_by_text(walk.text(
        "Your primary method is set up: %(description)s.",
        description=f"{totp_label} ({issuer})"))).to_be_visible()
    assert stored_methods(services, seller) == {"primary": "totp"}
    assert not services.methods.is_enrolled(seller.id)

    walk.choose("sms")
    walk.expect_phone_page("phone-number")
    walk.enter_phone(phone.national, snap="phone-typed")
    walk.expect_verify_page("sms-sent")
    walk.expect_sent_to_new_number(phone.masked)
    sms = outbox.latest(phone, channel="sms")
    assert sms.locale == lang  # the text message speaks the person's language (L1)
    walk.confirm(sms.code)

    # E7: recovery codes, shown once, with a download.
    count = settings.enrollment.recovery_codes
    codes = walk.recovery_codes(count)
    assert len(set(codes)) == count
    downloaded = walk.download_recovery_codes()
    assert all(code in downloaded for code in codes)
    assert services.methods.recovery_codes_left(seller.id) == count
    walk.finish_enrollment()

    walk.expect_signed_in(seller)
    primary, backup = walk.method_section("primary"), walk.method_section("backup")
    expect(primary).to_contain_text(f"{totp_label} ({issuer})")
    expect(backup).to_contain_text(phone.masked)
    expect(walk.page.get_by_text(walk.account_ntext(
        "%(num)s unused recovery code left.", "%(num)s unused recovery codes left.", count,
    ))).to_be_visible()
    walk.expect_browser_count(0)

    # What the server stored: both methods, verified; a session with both factors.
    assert stored_methods(services, seller) == {
        "primary": "totp", "backup": "sms"}
    described = services.methods.credentials(method_user(seller.user, lang))["backup"]
    assert phone.masked in described.description
    assert services.methods.is_enrolled(seller.id)
    session = session_of(services, walk.person)
    assert session is not None
    assert session.user_id == seller.id
    assert session.acr == ACR_2SV
    assert session.amr == ("pwd", "otp", "sms", "mfa")
    assert session.second_factor_at is not None
    assert trusted_browsers(services, seller) == []
    completed = audit.named("method.enroll.completed", seller.id)
    assert [(e["role"], e["method"], e["complete"]) for e in completed] == [
        ("primary", "totp", False), ("backup", "sms", True)]
    assert [e["count"] for e in audit.named("recovery.generated", seller.id)] == [count]
    (succeeded,) = audit.named("login.succeeded", seller.id)
    assert succeeded["amr"] == ["pwd", "otp", "sms", "mfa"]

    # E7: shown once: going back to the codes page finds nothing to show.
    walk.page.goto("/login/enroll/codes")
    walk.expect_page("/login/enroll/codes", walk.text("Your session has expired"),
                     "codes-gone")
    expect(walk.page.locator("ol.recovery-codes")).to_have_count(0)
