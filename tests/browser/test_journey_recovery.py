"""Recovering in a real browser: a seller who lost the phone with the authenticator app signs
in with the backup and replaces the primary on the settings page (C1, C2); a seller who lost
both devices signs in once with a recovery code and sets up two new methods, and that
recovery code never works again (C3).
"""

from __future__ import annotations

from playwright.sync_api import expect

from idp.login import ACR_2SV
from idp.services import Services
from idp.settings import Settings
from idp.users import method_user
from idp.web.i18n import LocaleCode
from tests.browser.journeys import (
    ACCOUNT,
    LANGS,
    AuditTrail,
    Walk,
    session_of,
    stored_methods,
)
from tests.browser.pages import OpenPerson, Screenshots
from tests.browser.people import (
    Authenticator,
    Outbox,
    PhoneBook,
    create_user,
    import_methods,
    sms,
)


@LANGS
def test_lost_primary_sign_in_with_backup_and_replace_it(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers C1 C2 C4 S3 E6 L1
    seller = create_user(services, locale=lang)
    lost_app, phone = Authenticator.new(), phones.mobile()
    views = import_methods(services, seller, primary=lost_app, backup=sms(phone))
    old_primary_id = views["primary"].id
    # Set up through the pages, the seller would hold recovery codes (E7).
    services.methods.regenerate_recovery_codes(method_user(seller.user))
    walk = Walk(open_person(lang), screenshot)

    # The phone with the app is lost: "Didn't receive the code?", the backup's text message.
    walk.open_account()
    walk.password(seller)
    walk.expect_code_page(views["primary"].description)
    walk.didnt_receive_the_code()
    walk.expect_code_page(views["backup"].description, backup=True, snap="code-backup")
    walk.enter_code(outbox.latest_code(phone, channel="sms"))
    walk.expect_signed_in(seller)
    sent_before = len(outbox.messages(phone))

    # C1: replace the primary from the settings page. C2: the code just entered is fresh,
    # so no other code is asked first.
    walk.method_section("primary").get_by_role(
        "link", name=walk.account_text("Change primary method")).click()
    walk.expect_page("/account/methods/primary/replace",
                     walk.account_text("Change your primary method"), "replace-primary")
    now = walk.page.locator('section[aria-labelledby="current-title"]')
    expect(now).to_contain_text(views["primary"].description)
    expect(now).to_contain_text(walk.account_text(
        "It keeps working until the new method is verified with a code."))
    walk.page.locator("#method-totp").check()
    walk.button(walk.account_text("Continue")).click()

    # E6 on the settings page too: a QR code and the secret for the new phone's app.
    walk.expect_page("/account/methods/primary/verify",
                     walk.account_text("Verify your new primary method"), "new-app")
    expect(walk.page.locator(".account-qr svg")).to_be_visible()
    new_app = Authenticator.from_page(walk.page.locator("code.account-secret").inner_text())
    # Until the new app is verified, the old primary is still the one stored (C2).
    assert services.methods.credentials(method_user(seller.user))["primary"].id == old_primary_id
    walk.field(walk.account_text("Code")).fill(new_app.fresh_code())
    walk.button(walk.account_text("Verify and use this method")).click()

    walk.expect_page(ACCOUNT, walk.account_text("Security settings"), "primary-replaced")
    walk.expect_notice(walk.text(
        "Your method was changed. Browsers that didn't require a code will ask for one again."))
    stored = services.methods.credentials(method_user(seller.user, lang))
    assert stored_methods(services, seller) == {"primary": "totp", "backup": "sms"}
    assert stored["primary"].id != old_primary_id
    assert stored["backup"].id == views["backup"].id
    assert len(outbox.messages(phone)) == sent_before  # no step-up code was needed
    (replaced,) = audit.named("method.enroll.completed", seller.id)
    assert (replaced["role"], replaced["replaced"]) == ("primary", True)
    session = session_of(services, walk.person)
    assert session is not None  # still signed in here after the change (C4 rebinds it)

    # The lost app's codes no longer work; the new one's do.
    walk.sign_out(settings.ui.service_name)
    walk.open_account("sign-in-again")
    walk.password(seller)
    walk.expect_code_page(stored["primary"].description, snap="code-new-app")
    walk.enter_code(lost_app.fresh_code())
    walk.expect_page("/login/code", walk.text("Enter your code"), "lost-app-refused")
    walk.expect_alert(walk.error("wrong_code"))
    walk.enter_code(new_app.fresh_code())
    walk.expect_signed_in(seller, "signed-in-with-new-app")
    session = session_of(services, walk.person)
    assert session is not None
    assert (session.acr, session.amr) == (ACR_2SV, ("pwd", "otp", "mfa"))


@LANGS
def test_both_devices_lost_recovery_code_then_set_up_anew(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers C3 E1 E2 E5 E7 S2 L1
    seller = create_user(services, locale=lang)
    lost_phone, new_phone, landline = phones.mobile(), phones.mobile(), phones.landline()
    views = import_methods(services, seller, primary=sms(lost_phone),
                           backup=Authenticator.new())
    codes = services.methods.regenerate_recovery_codes(method_user(seller.user))
    recovery_code = codes[3]
    count = settings.enrollment.recovery_codes
    walk = Walk(open_person(lang), screenshot)

    walk.open_account()
    walk.password(seller)
    walk.expect_code_page(views["primary"].description)
    walk.link(walk.text("Lost both devices? Use a recovery code")).click()
    walk.expect_page("/login/recovery", walk.text("Use a recovery code"), "recovery")
    # Typed as people do: small letters, no hyphen (the page says both are fine).
    walk.field(walk.text("Recovery code")).fill(recovery_code.replace("-", "").lower())
    walk.button(walk.text("Sign in with this code")).click()

    # C3: straight to setting up two new methods; the old ones are gone already.
    walk.expect_enroll_choice("primary", "re-enroll")
    walk.expect_notice(walk.text(
        "You signed in with a recovery code. Your old methods no longer work: set up two "
        "new ones now."))
    assert stored_methods(services, seller) == {}
    # The unused codes stay until the new pair is verified: leaving now, the next sign-in
    # needs one of them besides the password (C3).
    assert services.methods.recovery_codes_left(seller.id) == len(codes) - 1
    assert services.methods.reenrollment_gated(seller.id)
    assert [e["remaining"] for e in audit.named("login.recovery.used", seller.id)] == [
        len(codes) - 1]

    walk.choose("sms")
    walk.expect_phone_page("new-phone")
    walk.enter_phone(new_phone.international)
    walk.expect_verify_page("new-phone-sent")
    walk.expect_sent_to_new_number(new_phone.masked)
    walk.confirm(outbox.latest_code(new_phone, channel="sms"))

    walk.expect_enroll_choice("backup", "choose-backup")
    walk.choose("voice")
    walk.expect_phone_page("landline")
    walk.enter_phone(landline.national)
    walk.expect_verify_page("landline-called")
    walk.confirm(outbox.latest_code(landline, channel="voice"))

    new_codes = walk.recovery_codes(count)
    assert recovery_code not in new_codes
    walk.finish_enrollment()
    walk.expect_signed_in(seller)
    expect(walk.method_section("primary")).to_contain_text(new_phone.masked)
    expect(walk.method_section("backup")).to_contain_text(landline.masked)

    assert stored_methods(services, seller) == {"primary": "sms", "backup": "voice"}
    assert services.methods.recovery_codes_left(seller.id) == count
    assert len(outbox.messages(lost_phone)) == 1  # the lost phone got the first code only
    session = session_of(services, walk.person)
    assert session is not None
    assert session.amr == ("pwd", "sms", "tel", "mfa")

    # The recovery code worked once: the next time it is refused.
    walk.sign_out(settings.ui.service_name)
    walk.open_account("sign-in-again")
    walk.password(seller)
    walk.expect_page("/login/code", walk.text("Enter your code"), "code-again")
    walk.link(walk.text("Lost both devices? Use a recovery code")).click()
    walk.expect_page("/login/recovery", walk.text("Use a recovery code"), "recovery-again")
    walk.field(walk.text("Recovery code")).fill(recovery_code)
    walk.button(walk.text("Sign in with this code")).click()
    walk.expect_page("/login/recovery", walk.text("Use a recovery code"), "reused-refused")
    walk.expect_alert(walk.error("wrong_code"))
    assert [e["error_code"] for e in audit.named("recovery.failed", seller.id)] == [
        "wrong_code"]
    assert stored_methods(services, seller) == {"primary": "sms", "backup": "voice"}
    assert services.methods.recovery_codes_left(seller.id) == count
    assert session_of(services, walk.person) is None
