"""The journeys' helpers do what they promise, against the live server's real services and
the real plugins' message formats (no browser: these are not marked ``browser``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.methods.phone import PhoneKind, parse_phone
from idp.services import Services
from idp.users import method_user
from idp_sms import sms_text
from idp_voice import voice_segments
from tests.browser.pages import screenshot_folder, ui_ntext, ui_text
from tests.browser.people import (
    Authenticator,
    Outbox,
    PhoneBook,
    code_in_sms,
    code_in_voice_call,
    create_user,
    import_methods,
    sms,
    totp_now,
    voice,
)


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_codes_are_read_from_the_plugins_own_messages(locale: str) -> None:
    assert code_in_sms(sms_text(locale, "Nidan 2", "042917", 10)) == "042917"
    assert code_in_voice_call(voice_segments(locale, "Nidan", "830145"), locale) == "830145"


def test_a_call_reading_two_different_codes_is_refused() -> None:
    first, second = voice_segments("en", "N", "111111"), voice_segments("en", "N", "222222")
    with pytest.raises(AssertionError, match="different codes"):
        code_in_voice_call(first[:-1] + second[-7:], "en")
    with pytest.raises(AssertionError, match="one 6-digit code"):
        code_in_sms("codes 123456 and 654321")


def test_phone_book_numbers_are_unique_and_of_their_kind() -> None:
    book = PhoneBook()
    mobiles = [book.mobile() for _ in range(3)]
    assert len({phone.e164 for phone in mobiles}) == 3
    assert book.ip_phone().kind is PhoneKind.VOIP
    assert book.landline().kind is PhoneKind.FIXED_LINE
    # Both spellings are one number to the server (E4).
    assert parse_phone(mobiles[0].international, "JP").e164 == mobiles[0].e164


def test_imported_methods_verify_with_helper_codes(
    services: Services, outbox: Outbox, phones: PhoneBook
) -> None:
    seller = create_user(services, locale="en")
    app, phone = Authenticator.new(), phones.mobile()
    views = import_methods(services, seller, primary=app, backup=sms(phone))
    assert (views["primary"].method, views["backup"].method) == ("totp", "sms")
    assert services.accounts.check_password(seller.user, seller.password)
    person = method_user(seller.user)

    # Two sign-ins in a row within one time step: the second needs an unused step.
    for _ in range(2):
        services.methods.send_challenge(person, "primary")
        assert services.methods.verify(person, "primary", {"code": app.fresh_code()}).amr

    services.methods.send_challenge(person, "backup")
    message = outbox.latest(phone, channel="sms")
    assert message.locale == "en"
    assert services.methods.verify(person, "backup", {"code": message.code}).amr


def test_voice_codes_and_newer_messages(
    services: Services, outbox: Outbox, phones: PhoneBook
) -> None:
    seller = create_user(services, locale="ja")
    landline = phones.landline()
    import_methods(services, seller, primary=voice(landline), backup=Authenticator.new())
    person = method_user(seller.user)

    services.methods.send_challenge(person, "primary")

    call = outbox.latest(landline.national)  # any spelling of the number
    assert call.channel == "voice"
    with pytest.raises(AssertionError, match="no new"):
        outbox.latest(landline, newer_than=call)
    assert services.methods.verify(person, "primary", {"code": call.code}).amr


def test_totp_now_matches_the_authenticator() -> None:
    app = Authenticator.new()
    grouped = " ".join(app.secret[i : i + 4] for i in range(0, len(app.secret), 4)).lower()
    assert totp_now(grouped) == Authenticator.from_page(grouped).current_code()
    assert app.secret not in repr(app)


def test_ui_text_comes_from_the_catalogues() -> None:
    assert ui_text("en", "Page not found") == "Page not found"
    assert ui_text("ja", "Page not found") == "ページが見つかりません"
    with pytest.raises(KeyError):
        ui_text("ja", "A sentence nobody wrote")
    browsers = ("%(num)s browser doesn't require a code", "%(num)s browsers don't require a code")
    assert ui_ntext("en", *browsers, 2) == "2 browsers don't require a code"


def test_screenshot_folders_name_the_test_without_the_browser() -> None:
    root = Path("/a")
    assert screenshot_folder(root, "test_x", "test_y[chromium-ja]") == Path(
        "/a/screenshots/test_x.test_y-ja"
    )
    assert screenshot_folder(root, "test_x", "test_y[chromium]") == Path(
        "/a/screenshots/test_x.test_y"
    )
