"""Limits as a person meets them in a real browser: five wrong codes use up the tries (even
the right code is then refused), yet the password still works, since codes never lock the
password; and asking for a new text message too soon shows how long to wait, as a live
countdown with script and as the server's answer without.
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
    error_pattern,
    session_of,
    text_pattern,
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

# What the resend cooldown shows: minutes and seconds ("0:29").
_COUNTDOWN = r"\d+:\d\d"


def _another_code(code: str) -> str:
    """A wrong code: the right one with its last digit changed."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)


@LANGS
def test_wrong_codes_lock_the_codes_not_the_password(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, settings: Settings,
    outbox: Outbox, phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers S5 S4 S3 L1
    seller = create_user(services, locale=lang)
    phone, app = phones.mobile(), Authenticator.new()
    views = import_methods(services, seller, primary=sms(phone), backup=app)
    tries = settings.limits.code_tries
    walk = Walk(open_person(lang), screenshot)
    walk.open_account()
    walk.password(seller)
    walk.expect_code_page(views["primary"].description)
    code = outbox.latest_code(phone, channel="sms")

    # S5: five tries; each wrong code is refused with the same message.
    for attempt in range(1, tries + 1):
        walk.enter_code(_another_code(code))
        walk.expect_page("/login/code", walk.text("Enter your code"), f"wrong-code-{attempt}")
        walk.expect_alert(walk.error("wrong_code"))
    # The tries are used up: even the right code is refused now, with what to do instead.
    walk.enter_code(code)
    walk.expect_page("/login/code", walk.text("Enter your code"), "too-many-tries")
    expect(walk.page.get_by_role("alert")).to_have_text(error_pattern(lang, "too_many_tries"))
    assert session_of(services, walk.person) is None
    failed = audit.named("method.verify.failed", seller.id)
    assert [e["error_code"] for e in failed] == ["wrong_code"] * tries + ["too_many_tries"]

    # The password is not locked by wrong codes: signing in again, it is accepted at once.
    walk.link(walk.text("Sign in with another account")).click()
    walk.expect_page("/login", walk.text("Sign in"), "sign-in-again")
    walk.password(seller)
    walk.expect_page("/login/code", walk.text("Enter your code"), "password-accepted")
    expect(walk.page.get_by_role("alert")).to_have_text(error_pattern(lang, "too_many_tries"))
    assert len(audit.named("login.password.succeeded", seller.id)) == 2
    assert audit.named("login.password.failed", seller.id) == []
    assert audit.named("login.locked", seller.id) == []

    # ... and the backup, whose tries are its own, signs the person in.
    walk.didnt_receive_the_code()
    walk.expect_code_page(views["backup"].description, backup=True, snap="code-backup")
    walk.enter_code(app.fresh_code())
    walk.expect_signed_in(seller)
    session = session_of(services, walk.person)
    assert session is not None
    assert (session.acr, session.amr) == (ACR_2SV, ("pwd", "otp", "mfa"))


@LANGS
def test_resend_too_soon_shows_the_countdown(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, outbox: Outbox,
    phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers S5 L1
    seller = create_user(services, locale=lang)
    phone = phones.mobile()
    views = import_methods(services, seller, primary=sms(phone), backup=Authenticator.new())
    walk = Walk(open_person(lang), screenshot)
    walk.open_account()
    walk.password(seller)
    walk.expect_code_page(views["primary"].description)

    # With script: a live countdown, and "send again" can't be pressed until it ends.
    cooldown = walk.page.locator("p.cooldown")
    sentence = walk.text("You can request a new code in %(time)s.")
    expect(cooldown).to_have_text(text_pattern(sentence, "time", _COUNTDOWN))
    shown = cooldown.locator("[data-countdown-time]").inner_text()
    resend = walk.button(walk.text("Send the code again"))
    expect(resend).to_be_disabled()
    walk.shot(walk.page, "countdown")
    expect(cooldown.locator("[data-countdown-time]")).not_to_have_text(shown)  # it ticks
    walk.shot(walk.page, "countdown-ticking")
    assert len(outbox.messages(phone)) == 1

    walk.enter_code(outbox.latest_code(phone, channel="sms"))
    walk.expect_signed_in(seller)


@LANGS
def test_resend_too_soon_is_refused_by_the_server_without_script(
    open_person: OpenPerson, screenshot: Screenshots, services: Services, outbox: Outbox,
    phones: PhoneBook, audit: AuditTrail, lang: LocaleCode,
) -> None:  # covers S5 L1
    seller = create_user(services, locale=lang)
    phone = phones.mobile()
    views = import_methods(services, seller, primary=sms(phone), backup=Authenticator.new())
    walk = Walk(open_person(lang, javascript=False), screenshot)
    walk.open_account()
    walk.password(seller)
    walk.expect_code_page(views["primary"].description)
    first = outbox.latest(phone, channel="sms")

    # Without script the page still says when a new code may be asked for.
    sentence = walk.text("You can request a new code in %(time)s.")
    expect(walk.page.locator("p.cooldown")).to_have_text(
        text_pattern(sentence, "time", _COUNTDOWN))
    walk.button(walk.text("Send the code again")).click()

    walk.expect_page("/login/code/resend", walk.text("Enter your code"), "resend-refused")
    expect(walk.page.get_by_role("alert")).to_have_text(error_pattern(lang, "resend_too_soon"))
    expect(walk.page.locator("p.cooldown")).to_have_text(
        text_pattern(sentence, "time", _COUNTDOWN))
    assert outbox.latest(phone, channel="sms") == first  # nothing more was sent
    refused = audit.named("method.challenge.failed", seller.id)
    assert [e["error_code"] for e in refused] == ["resend_too_soon"]

    # The code already sent still works.
    walk.enter_code(first.code)
    walk.expect_signed_in(seller)
