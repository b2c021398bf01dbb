"""The whole journey over real HTTP: password, enrollment, codes, backup, completion."""

from __future__ import annotations

import re
from contextlib import closing

from idp.login import ACR_2SV
from tests.login.helpers import (
    MOBILE,
    MOBILE_E164,
    OTHER_MOBILE,
    OTHER_MOBILE_E164,
    PASSWORD,
    Authenticator,
    Enrolled,
    HttpBrowser,
    Site,
    create_user,
    form,
    recovery_codes_on_page,
    secret_on_page,
)
from tests.web.html import elements, one, visible_text


def sign_in_password(browser: HttpBrowser, email: str, password: str = PASSWORD) -> None:
    browser.go("/login")
    browser.submit("/login", email=email, password=password)


def test_a_new_person_sets_up_both_methods_and_lands_signed_in(site: Site,
                                                                visitor: HttpBrowser) -> None:
    # covers S1, E1, E2, E6, E7
    create_user(site.services, "new@example.com")
    page = visitor.go("/login")
    assert page.status_code == 200
    sign_in_password(visitor, "new@example.com")
    assert visitor.page is not None
    page = visitor.page
    assert str(page.url).endswith("/login/enroll")  # E1: right after the password
    assert "Two-step verification is required" in visible_text(page.text)
    radios = [i for i in form(page.text, "/login/enroll").inputs if i.get("type") == "radio"]
    assert {r.get("value") for r in radios} == {"totp", "sms", "voice"}

    page = visitor.submit("/login/enroll", method="totp")
    assert str(page.url).endswith("/login/enroll/verify")
    assert one(page.text, "svg") is not None  # E6: the QR code, inline
    app = Authenticator(secret_on_page(page.text))
    assert "Issuer: Nidan" in visible_text(page.text)
    assert "new@example.com" in visible_text(page.text)
    wrong = visitor.submit("/login/enroll/verify", code="000000")
    assert wrong.status_code == 400
    assert "That code is not right" in visible_text(wrong.text)
    page = visitor.submit("/login/enroll/verify", code=app.code())
    assert str(page.url).endswith("/login/enroll")
    assert "Step 2 of 2" in visible_text(page.text)
    assert site.services.methods.is_enrolled(site.services.accounts.require(
        "new@example.com").id) is False  # E2: not complete with one method

    page = visitor.submit("/login/enroll", method="sms")
    assert str(page.url).endswith("/login/enroll/details")
    tel = one(page.text, "input", name="phone")
    assert (tel.get("type"), tel.get("autocomplete")) == ("tel", "tel")
    page = visitor.submit("/login/enroll/details", phone=MOBILE)
    assert str(page.url).endswith("/login/enroll/verify")
    assert "+81 90-****-5678" in visible_text(page.text)
    page = visitor.submit("/login/enroll/verify", code=site.outbox.code(MOBILE_E164))
    assert str(page.url).endswith("/login/enroll/codes")
    codes = recovery_codes_on_page(page.text)
    assert len(codes) == site.settings.enrollment.recovery_codes  # E7

    done = visitor.submit("/login/enroll/codes", follow=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/account"
    session = visitor.whoami()
    assert session is not None
    assert session["acr"] == ACR_2SV
    assert session["amr"] == ["pwd", "otp", "sms", "mfa"]
    assert session["second_factor_at"] is not None
    # E7: shown once: the page is gone with the transaction.
    again = visitor.get("/login/enroll/codes")
    assert again.status_code == 400
    assert recovery_codes_on_page(again.text) == []


def test_an_enrolled_person_signs_in_with_the_app(site: Site, visitor: HttpBrowser,
                                                 person: Enrolled) -> None:
    # covers S1, S3
    sign_in_password(visitor, person.email)
    page = visitor.page
    assert page is not None
    assert str(page.url).endswith("/login/code")
    code_input = one(page.text, "input", name="code")
    assert code_input.get("autocomplete") == "one-time-code"
    assert code_input.get("inputmode") == "numeric"
    assert "authenticator app" in visible_text(page.text)
    assert site.outbox.count() == 1  # only the SMS enrollment: the app is simply opened
    assert person.app is not None
    done = visitor.submit("/login/code", follow=False, code=person.app.code())
    assert done.status_code == 303
    assert done.headers["location"] == "/account"
    assert done.cookies.get("nidan_sid")
    session = visitor.whoami()
    assert session is not None
    assert session["amr"] == ["pwd", "otp", "mfa"]
    assert session["user_id"] == person.user.id
    assert site.audited("login.succeeded")[-1]["method"] == "totp"


def test_didnt_receive_the_code_switches_to_the_backup(site: Site, visitor: HttpBrowser,
                                                      person: Enrolled) -> None:
    # covers S3
    sign_in_password(visitor, person.email)
    page = visitor.page
    assert page is not None
    link = [a for a in elements(page.text, "a") if a.text == "Didn't receive the code?"]
    assert len(link) == 1
    page = visitor.go(str(link[0].get("href")))
    assert "+81 90-****-5678" in visible_text(page.text)
    assert "(your backup method)" in visible_text(page.text)
    code = site.outbox.code(MOBILE_E164)
    reload = visitor.go("/login/code")
    assert reload.status_code == 200
    assert site.outbox.code(MOBILE_E164) == code  # a reload sends nothing new
    done = visitor.submit("/login/code", follow=False, code=code)
    assert done.status_code == 303
    session = visitor.whoami()
    assert session is not None
    assert session["amr"] == ["pwd", "sms", "mfa"]


def test_an_sms_primary_is_sent_and_can_be_sent_again(site: Site, visitor: HttpBrowser) -> None:
    # covers S3, S5
    from tests.login.helpers import enroll

    user = create_user(site.services, "sms@example.com")
    enroll(site.services, site.outbox, user, primary=("sms", MOBILE),
           backup=("voice", OTHER_MOBILE))
    before = site.outbox.count(MOBILE_E164)
    sign_in_password(visitor, "sms@example.com")
    page = visitor.page
    assert page is not None
    assert site.outbox.count(MOBILE_E164) == before + 1
    assert "We sent a 6-digit code to +81 90-****-5678" in visible_text(page.text)
    cooldown = one(page.text, "p", class_="cooldown")
    assert cooldown.get("data-countdown-target") == "resend-button"
    assert re.search(r"0:[0-3]\d", cooldown.text)
    first = site.outbox.code(MOBILE_E164)
    early = visitor.submit("/login/code/resend")
    assert early.status_code == 429
    assert "Please wait" in visible_text(early.text)
    assert site.outbox.count(MOBILE_E164) == before + 1
    done = visitor.submit("/login/code", follow=False, code=first)
    assert done.status_code == 303
    assert site.outbox.count(OTHER_MOBILE_E164) == 1  # only the enrollment call


def test_signing_in_again_moments_later_explains_the_cooldown(site: Site) -> None:
    # covers S5: the resend cooldown holds across sign-ins, and the page says so calmly
    # instead of showing an error, and when a new code can be asked for.
    from tests.login.helpers import enroll

    user = create_user(site.services, "again@example.com")
    enroll(site.services, site.outbox, user, primary=("sms", MOBILE),
           backup=("voice", OTHER_MOBILE))
    with closing(site.browser()) as first_browser:
        sign_in_password(first_browser, "again@example.com")
        code = site.outbox.code(MOBILE_E164)
        assert first_browser.submit("/login/code", follow=False, code=code).status_code == 303
    sent = site.outbox.count(MOBILE_E164)
    with closing(site.browser()) as second_browser:
        sign_in_password(second_browser, "again@example.com")
        page = second_browser.page
        assert page is not None
        text = visible_text(page.text)
        assert "A code was sent to this method moments ago" in text
        assert elements(page.text, "div", role="alert") == []  # no error
        assert "We sent a 6-digit code" not in text  # nothing was sent now
        cooldown = one(page.text, "p", class_="cooldown")
        assert re.search(r"0:[0-3]\d", cooldown.text)
        assert site.outbox.count(MOBILE_E164) == sent


def test_a_voice_backup_reads_the_code_in_the_persons_language(site: Site) -> None:
    # covers S3, L1
    from tests.login.helpers import enroll

    user = create_user(site.services, "voice@example.com", locale="ja")
    enroll(site.services, site.outbox, user, primary=("sms", MOBILE),
           backup=("voice", OTHER_MOBILE))
    with closing(site.browser(language="ja")) as browser:
        sign_in_password(browser, "voice@example.com")
        page = browser.go("/login/code", use="backup")
        assert "コードを入力" in visible_text(page.text)
        call = site.outbox.latest(OTHER_MOBILE_E164)
        assert call["channel"] == "voice"
        assert call["locale"] == "ja"
        assert "確認コードを申し上げます。" in call["segments"]
        done = browser.submit("/login/code", follow=False,
                              code=site.outbox.code(OTHER_MOBILE_E164))
        assert done.status_code == 303
        session = browser.whoami()
        assert session is not None
        assert session["amr"] == ["pwd", "tel", "mfa"]


def test_a_step_up_asks_only_a_fresh_code_and_keeps_the_session(site: Site, visitor: HttpBrowser,
                                                                person: Enrolled) -> None:
    # covers T5
    sign_in_password(visitor, person.email)
    assert person.app is not None
    visitor.submit("/login/code", follow=False, code=person.app.code())
    before = visitor.whoami()
    assert before is not None
    step_up = visitor.get("/test/start", force_code="1", resume="/settings/change")
    assert (step_up.status_code, step_up.headers["location"]) == (303, "/login/code")
    page = visitor.follow(step_up)
    assert "Lost both devices?" not in visible_text(page.text)  # no recovery in a step-up
    done = visitor.submit("/login/code", follow=False, code=person.app.code())
    assert done.headers["location"] == "/settings/change"
    after = visitor.whoami()
    assert after is not None
    assert after["sid"] == before["sid"]
    assert after["auth_time"] == before["auth_time"]  # the password was not asked again
    assert after["second_factor_at"] > before["second_factor_at"]
    assert site.audited("login.succeeded")[-1]["step_up"] is True
