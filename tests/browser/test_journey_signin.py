"""Signing in with two steps in a real browser: the password, then the code of the primary
method (the authenticator app, or a text message), or, after "Didn't receive the code?",
the backup's code read out in a voice call.
"""

from __future__ import annotations

from playwright.sync_api import expect

from idp.login import ACR_2SV
from idp.services import Services
from idp.settings import Settings
from idp.web.i18n import LocaleCode
from tests.browser.journeys import (
    LANGS,
    AuditTrail,
    Walk,
    session_of,
    stored_methods,
    trusted_browsers,
)
from tests.browser.pages import OpenPerson, Screenshots, ui_text
from tests.browser.people import (
    Authenticator,
    Outbox,
    PhoneBook,
    code_in_sms,
    create_user,
    import_methods,
    sms,
    voice,
)


def _code_minutes(settings: Settings) -> int:
    return max(1, settings.lifetimes.code_s // 60)


@LANGS
def test_sign_in_with_the_app(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, outbox: Outbox,
    phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers S1 S2 S3 L1
    seller = create_user(services, locale=lang)
    app, phone = Authenticator.new(), phones.mobile()
    views = import_methods(services, seller, primary=app, backup=sms(phone))
    walk = Walk(open_person(lang), screenshot)

    walk.open_account()
    walk.password(seller)

    walk.expect_code_page(views["primary"].description)
    # The app is simply opened: nothing is sent to the backup's phone (S3).
    expect(walk.page.get_by_text(walk.text(
        "Open your authenticator app and enter the 6-digit code it shows now."))).to_be_visible()
    expect(walk.button(walk.text("Send the code again"))).to_have_count(0)
    assert outbox.messages(phone) == []
    expect(walk.link(walk.text("Didn't receive the code?"))).to_be_visible()
    walk.enter_code(app.fresh_code(), snap="code-typed")

    walk.expect_signed_in(seller)
    session = session_of(services, walk.person)
    assert session is not None
    assert (session.user_id, session.acr, session.amr) == (
        seller.id, ACR_2SV, ("pwd", "otp", "mfa"))
    (succeeded,) = audit.named("login.succeeded", seller.id)
    assert succeeded["method"] == "totp"
    assert trusted_browsers(services, seller) == []  # the box was not ticked


@LANGS
def test_sign_in_with_a_text_message(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers S1 S2 S3 S5 L1
    seller = create_user(services, locale=lang)
    phone = phones.mobile()
    views = import_methods(services, seller, primary=sms(phone), backup=Authenticator.new())
    walk = Walk(open_person(lang), screenshot)

    walk.open_account()
    walk.password(seller)

    # S3: the primary sends its code as the page opens; the number is shown masked.
    walk.expect_code_page(views["primary"].description)
    walk.expect_code_sent(phone.masked, _code_minutes(settings))
    message = outbox.latest(phone, channel="sms")
    assert message.locale == lang
    assert phone.national not in walk.page.content()  # only the masked number is shown

    # In dev mode the phone is a page too: /dev/outbox shows the text, as a newcomer reads it.
    phone_screen = walk.person.new_page()
    phone_screen.goto("/dev/outbox")
    expect(phone_screen.get_by_role("heading", level=1)).to_have_text(
        ui_text(lang, "Development outbox"))
    texts = phone_screen.locator("li.phone__message").filter(
        has_text=ui_text(lang, "Text message to %(to)s", to=phone.e164))
    expect(texts.first).to_contain_text(message.code)
    assert code_in_sms(texts.first.locator(".phone__text").inner_text()) == message.code
    screenshot(phone_screen, "dev-phone")
    phone_screen.close()

    walk.enter_code(message.code, snap="code-typed")

    walk.expect_signed_in(seller)
    session = session_of(services, walk.person)
    assert session is not None
    assert (session.user_id, session.acr, session.amr) == (
        seller.id, ACR_2SV, ("pwd", "sms", "mfa"))
    assert [e["method"] for e in audit.named("login.succeeded", seller.id)] == ["sms"]
    assert len(outbox.messages(phone)) == 1  # one sign-in, one text message


@LANGS
def test_didnt_receive_the_code_then_a_voice_call(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers S2 S3 L1
    seller = create_user(services, locale=lang)
    mobile, landline = phones.mobile(), phones.landline()
    views = import_methods(services, seller, primary=sms(mobile), backup=voice(landline))
    walk = Walk(open_person(lang), screenshot)

    walk.open_account()
    walk.password(seller)
    walk.expect_code_page(views["primary"].description)
    walk.expect_code_sent(mobile.masked, _code_minutes(settings))
    expect(walk.page.locator(".other-ways")).to_contain_text(walk.text(
        "Use your backup method instead: %(description)s.",
        description=views["backup"].description))

    walk.didnt_receive_the_code()

    # The backup works exactly like the primary: it calls, and reads the code aloud (S3).
    walk.expect_code_page(views["backup"].description, backup=True, snap="code-backup")
    walk.expect_code_sent(landline.masked, _code_minutes(settings))
    call = outbox.latest(landline, channel="voice")
    assert call.locale == lang  # the call speaks the person's language (L1)
    expect(walk.link(walk.text("Use your primary method instead: %(description)s",
                               description=views["primary"].description))).to_be_visible()
    walk.enter_code(call.code, snap="code-typed")

    walk.expect_signed_in(seller)
    session = session_of(services, walk.person)
    assert session is not None
    assert (session.user_id, session.acr, session.amr) == (
        seller.id, ACR_2SV, ("pwd", "tel", "mfa"))  # RFC 8176 "tel"
    (succeeded,) = audit.named("login.succeeded", seller.id)
    assert succeeded["method"] == "voice"
    sent = audit.named("method.challenge.sent", seller.id)
    assert [(e["role"], e["method"]) for e in sent] == [("primary", "sms"), ("backup", "voice")]
    # Both methods are as they were: using the backup changes nothing stored.
    assert stored_methods(services, seller) == {
        "primary": "sms", "backup": "voice"}


_FITS_THE_SCREEN = "document.documentElement.scrollWidth <= window.innerWidth"


@LANGS
def test_sign_in_on_a_phone_screen(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, outbox: Outbox,
    phones: PhoneBook, lang: LocaleCode,
) -> None:  # covers S1 S3 L1
    seller = create_user(services, locale=lang)
    phone = phones.mobile()
    views = import_methods(services, seller, primary=sms(phone), backup=Authenticator.new())
    walk = Walk(open_person(lang, phone_screen=True), screenshot)

    walk.open_account("sign-in-phone")
    assert walk.page.evaluate(_FITS_THE_SCREEN)
    walk.password(seller)
    walk.expect_code_page(views["primary"].description, snap="code-phone")
    assert walk.page.evaluate(_FITS_THE_SCREEN)
    # The numeric keypad and SMS autofill (checked by expect_code_page), the box in reach.
    expect(walk.field(walk.text("6-digit code"))).to_be_in_viewport()
    walk.enter_code(outbox.latest_code(phone, channel="sms"))
    walk.expect_signed_in(seller, "signed-in-phone")
    assert walk.page.evaluate(_FITS_THE_SCREEN)
    session = session_of(services, walk.person)
    assert session is not None
    assert session.amr == ("pwd", "sms", "mfa")
