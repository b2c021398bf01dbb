"""Changing methods on the settings page (BEHAVIOUR C1, C2, C4, E2-E5): a fresh code first,
the new method verified before it takes the role, never fewer than two."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from idp.methods import (
    AppBothRoles,
    PhoneNotSmsCapable,
    SamePhoneTwice,
    TooFewMethods,
)
from idp.users import User, method_user
from idp.web.i18n import Catalogues
from tests.account.forms import form_for, forms
from tests.account.helpers import (
    CHROME_WINDOWS,
    HttpBrowser,
    Site,
    create_seller,
    totp_now,
)
from tests.account.journey import enter_code, sign_in
from tests.web.html import visible_text

REPLACE_PRIMARY = "/account/methods/primary/replace"
VERIFY_PRIMARY = "/account/methods/primary/verify"
TEN_MINUTES = 10 * 60
NEW_PHONE = "080-2222-3333"
NEW_PHONE_E164 = "+818022223333"


def test_replace_the_primary_with_a_new_number(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers C1, C2, C4, E2
    services = site.services
    services.devices.trust(seller, user_agent=CHROME_WINDOWS, ip="203.0.113.7")
    # The phone with the app is lost: "Didn't receive the code?", then the backup's SMS.
    landed = sign_in(desktop, seller, use_backup=True)
    assert landed.url.path == "/account"
    choose = desktop.get(REPLACE_PRIMARY)
    assert choose.status_code == 200
    radios = form_for(choose.text, REPLACE_PRIMARY).controls
    assert radios["method"]["type"] == "radio"
    assert radios["phone"]["autocomplete"] == "tel"
    assert radios["phone"]["type"] == "tel"
    started = desktop.submit(choose, REPLACE_PRIMARY, {"method": "sms", "phone": NEW_PHONE})
    assert started.status_code == 303
    assert started.headers["location"] == VERIFY_PRIMARY
    # Not yet verified: the old primary is still in place (never fewer than two, C2).
    assert site.methods()["primary"][0] == "totp"
    verify = desktop.follow(started)
    assert "+81 80-****-3333" in visible_text(verify.text)
    code_field = form_for(verify.text, VERIFY_PRIMARY).controls["code"]
    assert code_field["autocomplete"] == "one-time-code"
    assert code_field["inputmode"] == "numeric"
    done = desktop.submit(verify, VERIFY_PRIMARY, {"code": site.last_code(NEW_PHONE_E164)})
    methods = site.methods()
    assert methods["primary"] == ("sms", "Text message to +81 80-****-3333")
    assert methods["backup"] == ("sms", "Text message to +81 90-****-5678")
    # An imported account finishes its first enrollment here, so it gets recovery codes
    # (E7), shown once.
    assert done.status_code == 200
    assert services.methods.recovery_codes_left(seller.id) == 10
    assert "リカバリーコード" in visible_text(done.text)
    # C4: the change ended trusted browsers, and bumped the epoch...
    assert services.devices.count(site.user()) == 0
    assert site.user().security_epoch > seller.security_epoch
    # ...but this session was moved to the new epoch: the person is still signed in here.
    overview = desktop.get("/account")
    assert overview.status_code == 200
    assert "SMS（+81 80-****-3333）" in visible_text(overview.text)
    # The next sign-in asks the new primary: a text message to the new number.
    desktop.submit(overview, "/account/sign-out")
    again = sign_in(desktop, seller, primary_phone=NEW_PHONE_E164)
    assert again.url.path == "/account"


def test_replace_an_app_with_a_new_app(site: Site, desktop: HttpBrowser) -> None:
    # covers C1, E6
    user = create_seller(site, "app@example.com", locale="en")
    sign_in(desktop, user)
    before = site.services.methods.credentials(method_user(user))["primary"].id
    choose = desktop.get(REPLACE_PRIMARY)
    verify = desktop.follow(desktop.submit(choose, REPLACE_PRIMARY, {"method": "totp"}))
    assert verify.status_code == 200
    assert "<svg" in verify.text  # the QR code
    key = pending_secret(site, user)
    assert " ".join(key[i:i + 4] for i in range(0, len(key), 4)) in verify.text
    wrong = desktop.submit(verify, VERIFY_PRIMARY, {"code": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right" in visible_text(wrong.text)
    assert site.methods("app@example.com")["primary"][0] == "totp"
    done = desktop.submit(wrong, VERIFY_PRIMARY, {"code": totp_now(key)})
    assert done.status_code == 200  # recovery codes of the first completed enrollment
    views = site.services.methods.credentials(method_user(site.user("app@example.com")))
    assert views["primary"].method == "totp"
    assert views["primary"].id != before
    assert site.services.methods.pending_enrollment(method_user(user), "primary") is None


def pending_secret(site: Site, user: User) -> str:
    """The new app's key, as the person reads it from the otpauth URI."""
    pending = site.services.methods.pending_enrollment(method_user(user), "primary")
    assert pending is not None
    return parse_qs(urlsplit(pending.display["otpauth_uri"]).query)["secret"][0]


def test_a_code_older_than_ten_minutes_asks_for_a_fresh_one(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers C2
    sign_in(desktop, seller)
    page = desktop.get(REPLACE_PRIMARY)
    assert page.status_code == 200
    site.age_second_factor(desktop, TEN_MINUTES + 60)
    assert desktop.get("/account").status_code == 200  # looking needs no fresh code
    for path in (REPLACE_PRIMARY, VERIFY_PRIMARY, "/account/methods/swap",
                 "/account/recovery-codes"):
        response = desktop.get(path)
        assert response.status_code == 303, path
        # Step-up: the live session goes straight to the code, no password (DESIGN).
        assert response.headers["location"] == "/login/code", path
    # A change posted with a stale code is not made: step-up first.
    posted = desktop.submit(page, REPLACE_PRIMARY, {"method": "sms", "phone": NEW_PHONE})
    assert posted.status_code == 303
    assert posted.headers["location"] == "/login/code"
    assert site.sent_to(NEW_PHONE_E164) == 0
    # The fresh code brings the person back to the page that asked for it.
    back = enter_code(desktop, desktop.follow(posted))
    assert back.url.path == REPLACE_PRIMARY
    assert back.status_code == 200
    # Within the ten minutes, the page opens as it is.
    site.age_second_factor(desktop, TEN_MINUTES - 60)
    assert desktop.get(REPLACE_PRIMARY).status_code == 200


def test_a_trusted_browser_sign_in_is_not_a_fresh_code(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers C2, T1, T5
    sign_in(desktop, seller, trust=True)
    overview = desktop.get("/account")
    desktop.submit(overview, "/account/sign-out")
    # Password only: this browser is trusted.
    again = sign_in(desktop, seller)
    assert again.url.path == "/account"
    session = site.session_of(desktop)
    assert session is not None
    assert session.second_factor_at is None
    # Changing a method still asks for a code, even here.
    response = desktop.get(REPLACE_PRIMARY)
    assert response.status_code == 303
    assert response.headers["location"] == "/login/code"
    back = enter_code(desktop, desktop.follow(response))
    assert back.url.path == REPLACE_PRIMARY
    assert back.status_code == 200


def test_removing_a_method_is_refused(site: Site, seller: User, desktop: HttpBrowser) -> None:
    # covers C2
    sign_in(desktop, seller)
    overview = desktop.get("/account")
    for role in ("primary", "backup"):
        refused = desktop.submit(overview, f"/account/methods/{role}/remove")
        assert refused.status_code == 409
        # The method layer's own words (the catalogues have no entry for this one yet).
        assert TooFewMethods().message("ja") in visible_text(refused.text)
        assert site.services.methods.is_enrolled(seller.id)
    assert set(site.methods()) == {"primary", "backup"}
    assert site.events_named("method.removed") == []


@pytest.mark.parametrize(
    ("role", "method", "phone", "error"),
    [
        ("backup", "totp", "", AppBothRoles()),  # E3: the app can't be both
        ("primary", "sms", "090-1234-5678", SamePhoneTwice()),  # E4: the backup's number
        ("primary", "voice", "+81 90 1234 5678", SamePhoneTwice()),  # E4, another spelling
        ("primary", "sms", "050-1234-5678", PhoneNotSmsCapable()),  # E5: IP phone, no SMS
    ],
    ids=["E3-app-twice", "E4-same-number", "E4-other-spelling", "E5-050-sms"],
)
def test_refused_choices_say_why(
    site: Site, desktop: HttpBrowser, role: str, method: str, phone: str, error: Exception
) -> None:
    # covers E3, E4, E5, C2
    user = create_seller(site, "en@example.com", locale="en")
    sign_in(desktop, user)
    path = f"/account/methods/{role}/replace"
    choose = desktop.get(path)
    refused = desktop.submit(choose, path, {"method": method, "phone": phone})
    assert refused.status_code == 400
    assert error.message("en") in visible_text(refused.text)  # type: ignore[attr-defined]
    assert refused.headers["content-language"] == "en"
    # What was typed stays in the form; nothing was sent, nothing changed.
    if phone:
        assert form_for(refused.text, path).fields["phone"] == phone
    sent = [e for e in site.events_named("method.challenge.sent")
            if e["purpose"] == "enrollment"]
    assert sent == []
    assert site.methods("en@example.com")["primary"][0] == "totp"
    assert site.methods("en@example.com")["backup"][0] == "sms"


def test_refusals_are_shown_in_japanese(site: Site, seller: User, desktop: HttpBrowser) -> None:
    # covers E5, L1
    sign_in(desktop, seller)
    choose = desktop.get(REPLACE_PRIMARY)
    refused = desktop.submit(choose, REPLACE_PRIMARY, {"method": "sms", "phone": "05012345678"})
    assert refused.status_code == 400
    japanese = Catalogues.load().message_for(PhoneNotSmsCapable(), "ja")
    assert "SMSを受信できません" in japanese
    assert japanese in visible_text(refused.text)


def test_the_backup_page_says_why_the_app_is_missing(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers E3
    sign_in(desktop, seller)
    page = desktop.get("/account/methods/backup/replace")
    radios = [c for c in forms(page.text) if c.action == "/account/methods/backup/replace"]
    offered = radios[0].fields.get("method")
    assert offered in ("sms", "voice")
    assert 'value="totp"' not in page.text
    reason = Catalogues.load().message_for(AppBothRoles(), "ja")
    assert f"認証アプリ: {reason}" in visible_text(page.text)


def test_swap_primary_and_backup(site: Site, seller: User, desktop: HttpBrowser) -> None:
    # covers C1, C4
    sign_in(desktop, seller)
    confirm = desktop.get("/account/methods/swap")
    assert confirm.status_code == 200
    swapped = desktop.submit(confirm, "/account/methods/swap")
    assert swapped.status_code == 303
    assert swapped.headers["location"] == "/account?done=swapped"
    assert site.methods()["primary"][0] == "sms"
    assert site.methods()["backup"][0] == "totp"
    overview = desktop.follow(swapped)
    assert overview.status_code == 200
    assert "第一手段とバックアップ手段を入れ替えました" in visible_text(overview.text)


def test_resend_cooldown_and_cancel(site: Site, seller: User, desktop: HttpBrowser) -> None:
    # covers S5, C2
    sign_in(desktop, seller)
    choose = desktop.get(REPLACE_PRIMARY)
    verify = desktop.follow(
        desktop.submit(choose, REPLACE_PRIMARY, {"method": "voice", "phone": NEW_PHONE})
    )
    assert 'data-countdown="' in verify.text  # the visible cooldown
    again = desktop.submit(verify, "/account/methods/primary/resend")
    assert again.status_code == 429
    assert "秒お待ちください" in visible_text(again.text)
    cancelled = desktop.submit(again, "/account/methods/primary/cancel")
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == "/account"
    assert site.services.methods.pending_enrollment(method_user(seller), "primary") is None
    assert site.methods()["primary"][0] == "totp"
    assert desktop.get(VERIFY_PRIMARY).headers["location"] == REPLACE_PRIMARY


def test_too_many_wrong_codes_is_a_throttle_here_too(site: Site, desktop: HttpBrowser) -> None:
    # covers S5: a throttle answers 429 on the settings pages as it does at sign-in.
    user = create_seller(site, "tries@example.com", locale="en")
    sign_in(desktop, user)
    choose = desktop.get(REPLACE_PRIMARY)
    page = desktop.follow(desktop.submit(choose, REPLACE_PRIMARY, {"method": "totp"}))
    statuses = []
    for _ in range(site.settings.limits.code_tries + 1):
        page = desktop.submit(page, VERIFY_PRIMARY, {"code": "000000"})
        statuses.append(page.status_code)
    assert statuses[:-1] == [400] * site.settings.limits.code_tries
    assert statuses[-1] == 429
    assert "Too many wrong codes" in visible_text(page.text)
