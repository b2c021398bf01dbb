"""Enrollment in the journey (E1-E7): the refused choices and their reasons, the phone
numbers, the recovery codes' download, and a person who stopped half-way."""

from __future__ import annotations

from tests.login.helpers import (
    MOBILE,
    MOBILE_E164,
    PASSWORD,
    Authenticator,
    HttpBrowser,
    Site,
    create_user,
    form,
    recovery_codes_on_page,
    secret_on_page,
)
from tests.web.html import elements, visible_text


def to_enrollment(browser: HttpBrowser, email: str) -> None:
    browser.go("/login")
    page = browser.submit("/login", email=email, password=PASSWORD)
    assert str(page.url).endswith("/login/enroll")


def app_as_primary(browser: HttpBrowser) -> Authenticator:
    page = browser.submit("/login/enroll", method="totp")
    app = Authenticator(secret_on_page(page.text))
    page = browser.submit("/login/enroll/verify", code=app.code())
    assert "Step 2 of 2" in visible_text(page.text)
    return app


def to_sms_backup(site: Site, browser: HttpBrowser, email: str) -> None:
    """A new person at the backup step, with the app as primary, choosing SMS."""
    create_user(site.services, email)
    to_enrollment(browser, email)
    app_as_primary(browser)
    browser.submit("/login/enroll", method="sms")


def test_the_app_cannot_be_both_primary_and_backup(site: Site, visitor: HttpBrowser) -> None:
    # covers E3
    create_user(site.services, "app@example.com")
    to_enrollment(visitor, "app@example.com")
    app_as_primary(visitor)
    page = visitor.page
    assert page is not None
    refused = [i for i in form(page.text, "/login/enroll").inputs if i.get("value") == "totp"]
    assert len(refused) == 1
    assert "disabled" in refused[0]
    why = elements(page.text, "p", id="method-totp-why")[0].text
    assert "can't be both your main and your backup" in why
    response = visitor.http.post("/login/enroll", data={
        **form(page.text, "/login/enroll").hidden, "method": "totp"})
    assert response.status_code == 400
    assert "can't be both your main and your backup" in visible_text(response.text)


def test_the_same_number_twice_is_refused_however_it_is_written(site: Site,
                                                                visitor: HttpBrowser) -> None:
    # covers E4, E5
    create_user(site.services, "same@example.com")
    to_enrollment(visitor, "same@example.com")
    visitor.submit("/login/enroll", method="sms")
    visitor.submit("/login/enroll/details", phone=MOBILE)
    visitor.submit("/login/enroll/verify", code=site.outbox.code(MOBILE_E164))
    visitor.submit("/login/enroll", method="voice")
    refused = visitor.submit("/login/enroll/details", phone="+81 90 1234 5678")
    assert refused.status_code == 400
    assert "different phone number" in visible_text(refused.text)
    assert site.outbox.count(MOBILE_E164) == 1  # nothing was sent for the refused one
    # The number stays in the field, to be corrected.
    assert 'value="+81 90 1234 5678"' in refused.text
    page = visitor.submit("/login/enroll/details", phone="080 3333 4444")
    assert str(page.url).endswith("/login/enroll/verify")


def test_an_050_number_cannot_receive_sms_and_is_offered_a_call(site: Site,
                                                                visitor: HttpBrowser) -> None:
    # covers E5, S2
    to_sms_backup(site, visitor, "ip-phone@example.com")
    refused = visitor.submit("/login/enroll/details", phone="050-1234-5678")
    assert refused.status_code == 400
    text = visible_text(refused.text)
    assert "can't receive text messages" in text
    assert "voice call" in text
    offer = [b for b in form(refused.text, "/login/enroll/details").buttons
             if b.get("value") == "voice"]
    assert len(offer) == 1
    page = visitor.submit("/login/enroll/details", phone="050-1234-5678", method="voice")
    assert str(page.url).endswith("/login/enroll/verify")
    call = site.outbox.latest("+815012345678")
    assert call["channel"] == "voice"
    page = visitor.submit("/login/enroll/verify", code=site.outbox.code("+815012345678"))
    assert str(page.url).endswith("/login/enroll/codes")


def test_choose_another_method_and_resend_during_setup(site: Site, visitor: HttpBrowser) -> None:
    # covers E2, S5
    create_user(site.services, "change@example.com")
    to_enrollment(visitor, "change@example.com")
    visitor.submit("/login/enroll", method="sms")
    page = visitor.submit("/login/enroll/details", phone=MOBILE)
    assert "+81 90-****-5678" in visible_text(page.text)
    early = visitor.submit("/login/enroll/resend")
    assert early.status_code == 429
    page = visitor.go("/login/enroll/verify")
    page = visitor.submit("/login/enroll/back")
    assert str(page.url).endswith("/login/enroll")
    page = visitor.submit("/login/enroll", method="totp")
    assert "svg" in page.text
    # The number's pending set-up is gone: the app's replaced it.
    from idp.methods import MethodUser

    user = site.services.accounts.require("change@example.com")
    pending = site.services.methods.pending_enrollment(
        MethodUser(id=user.id, email=user.email), "primary")
    assert pending is not None
    assert pending.method == "totp"
    assert site.services.methods.is_enrolled(user.id) is False


def test_the_recovery_codes_download_only_while_they_are_shown(site: Site,
                                                               visitor: HttpBrowser) -> None:
    # covers E7
    to_sms_backup(site, visitor, "codes@example.com")
    visitor.submit("/login/enroll/details", phone=MOBILE)
    page = visitor.submit("/login/enroll/verify", code=site.outbox.code(MOBILE_E164))
    codes = recovery_codes_on_page(page.text)
    download = form(page.text, "/login/enroll/codes/download")
    response = visitor.http.post("/login/enroll/codes/download", data=download.hidden)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-disposition"] == (
        'attachment; filename="recovery-codes.txt"')
    assert response.headers["cache-control"] == "no-store"
    assert all(code in response.text for code in codes)
    printed = [b for b in form(page.text, "/login/enroll/codes/download").buttons
               if "data-print" in b]
    assert len(printed) == 1
    done = visitor.submit("/login/enroll/codes", follow=False)
    assert done.status_code == 303
    again = visitor.http.post("/login/enroll/codes/download", data=download.hidden)
    assert again.status_code == 400
    assert not any(code in again.text for code in codes)


def test_a_person_with_one_method_proves_it_before_adding_the_other(site: Site,
                                                                    visitor: HttpBrowser) -> None:
    # covers E1, E2
    from idp.methods import MethodUser

    user = create_user(site.services, "half@example.com")
    mu = MethodUser(id=user.id, email=user.email, locale="en")
    pending = site.services.methods.begin_enrollment(mu, "primary", "totp", {})
    app = Authenticator(pending.display["secret_grouped"].replace(" ", ""))
    site.services.methods.complete_enrollment(mu, "primary", {"code": app.code()})
    visitor.go("/login")
    page = visitor.submit("/login", email=user.email, password=PASSWORD)
    # Whoever knows the password must not be able to add a method of their own before
    # proving the one that exists.
    assert str(page.url).endswith("/login/code")
    assert "Didn't receive the code?" not in visible_text(page.text)
    page = visitor.submit("/login/code", code=app.code())
    assert str(page.url).endswith("/login/enroll")
    assert "Step 2 of 2" in visible_text(page.text)
    visitor.submit("/login/enroll", method="sms")
    visitor.submit("/login/enroll/details", phone=MOBILE)
    page = visitor.submit("/login/enroll/verify", code=site.outbox.code(MOBILE_E164))
    assert len(recovery_codes_on_page(page.text)) == site.settings.enrollment.recovery_codes
    assert visitor.submit("/login/enroll/codes", follow=False).status_code == 303
