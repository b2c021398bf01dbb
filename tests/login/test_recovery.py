"""Both devices lost (C3): a recovery code signs the person in once and takes them straight
to setting up two new methods; a used code, or any code of the old set, is refused."""

from __future__ import annotations

from contextlib import closing

from idp.methods import MethodUser
from idp.resets import reset_two_step
from tests.login.helpers import (
    PASSWORD,
    Authenticator,
    Enrolled,
    HttpBrowser,
    Site,
    recovery_codes_on_page,
    secret_on_page,
)
from tests.web.html import elements, visible_text


def to_recovery_page(browser: HttpBrowser, person: Enrolled) -> None:
    browser.http.cookies.delete("nidan_sid")
    browser.go("/login")
    page = browser.submit("/login", email=person.email, password=PASSWORD)
    links = [a for a in elements(page.text, "a") if a.get("href") == "/login/recovery"]
    assert len(links) == 1
    browser.go("/login/recovery")


def test_a_recovery_code_leads_straight_to_setting_up_both_methods(site: Site,
                                                                  visitor: HttpBrowser,
                                                                  person: Enrolled) -> None:
    # covers C3, E2, E7
    old_codes = person.recovery_codes
    to_recovery_page(visitor, person)
    wrong = visitor.submit("/login/recovery", code="AAAAA-AAAAA")
    assert wrong.status_code == 400
    assert "That code is not right" in visible_text(wrong.text)
    page = visitor.submit("/login/recovery", code=old_codes[0].lower().replace("-", ""))
    assert str(page.url).endswith("/login/enroll")
    assert "You signed in with a recovery code" in visible_text(page.text)
    assert site.services.methods.credentials(person_user(person)) == {}  # reset
    assert site.audited("login.recovery.used")[-1]["user_id"] == person.user.id
    assert visitor.whoami() is None  # not signed in until both are set up
    page = visitor.submit("/login/enroll", method="totp")
    app = Authenticator(secret_on_page(page.text))
    visitor.submit("/login/enroll/verify", code=app.code())
    visitor.submit("/login/enroll", method="sms")
    visitor.submit("/login/enroll/details", phone="070-1212-3434")
    page = visitor.submit("/login/enroll/verify", code=site.outbox.code("+817012123434"))
    new_codes = recovery_codes_on_page(page.text)
    assert len(new_codes) == len(old_codes)
    assert not set(new_codes) & set(old_codes)
    done = visitor.submit("/login/enroll/codes", follow=False)
    assert done.status_code == 303
    session = visitor.whoami()
    assert session is not None
    assert session["amr"] == ["pwd", "otp", "sms", "mfa"]
    assert site.audited("login.succeeded")[-1]["recovery"] is True


def test_a_used_recovery_code_and_the_old_set_are_refused(site: Site, visitor: HttpBrowser,
                                                          person: Enrolled) -> None:
    # covers C3
    used = person.recovery_codes[0]
    to_recovery_page(visitor, person)
    visitor.submit("/login/recovery", code=used)
    page = visitor.submit("/login/enroll", method="sms")
    visitor.submit("/login/enroll/details", phone="070-5656-7878")
    visitor.submit("/login/enroll/verify", code=site.outbox.code("+817056567878"))
    visitor.submit("/login/enroll", method="voice")
    visitor.submit("/login/enroll/details", phone="06-6123-4567")
    visitor.submit("/login/enroll/verify", code=site.outbox.code("+81661234567"))
    assert visitor.submit("/login/enroll/codes", follow=False).status_code == 303
    to_recovery_page(visitor, person)
    for code in (used, person.recovery_codes[1]):
        refused = visitor.submit("/login/recovery", code=code)
        assert refused.status_code == 400, code
        assert "That code is not right" in visible_text(refused.text)
    assert visitor.whoami() is None
    assert page.status_code == 200


def person_user(person: Enrolled) -> MethodUser:
    return MethodUser(id=person.user.id, email=person.email)


def test_leaving_after_a_recovery_code_never_lets_the_password_alone_set_up_methods(
    site: Site, visitor: HttpBrowser, person: Enrolled
) -> None:
    # covers C3, E1: the review's finding. The person signs in with a recovery code and
    # leaves before setting up anything; someone who knows the password must not be able to
    # set up methods of their choosing in the next sign-in.
    to_recovery_page(visitor, person)
    visitor.submit("/login/recovery", code=person.recovery_codes[0])
    assert site.services.methods.credentials(person_user(person)) == {}
    with closing(site.browser(local_address="127.0.0.9")) as attacker:
        attacker.go("/login")
        page = attacker.submit("/login", email=person.email, password=PASSWORD)
        assert str(page.url).endswith("/login/recovery")
        assert "was reset" in visible_text(page.text)
        # No way round it: the set-up pages send back to the code.
        for path in ("/login/enroll", "/login/enroll/details", "/login/enroll/verify"):
            assert str(attacker.go(path).url).endswith("/login/recovery"), path
        wrong = attacker.submit("/login/recovery", code="AAAAA-AAAAA")
        assert wrong.status_code == 400
        assert attacker.whoami() is None
    # The owner comes back with another of their codes (kept until the new pair is verified).
    to_recovery_page_after_reset(visitor, person)
    page = visitor.submit("/login/recovery", code=person.recovery_codes[1])
    assert str(page.url).endswith("/login/enroll")
    visitor.submit("/login/enroll", method="sms")
    visitor.submit("/login/enroll/details", phone="070-3434-5656")
    visitor.submit("/login/enroll/verify", code=site.outbox.code("+817034345656"))
    visitor.submit("/login/enroll", method="voice")
    visitor.submit("/login/enroll/details", phone="06-6123-9876")
    page = visitor.submit("/login/enroll/verify", code=site.outbox.code("+81661239876"))
    assert len(recovery_codes_on_page(page.text)) == len(person.recovery_codes)
    assert visitor.submit("/login/enroll/codes", follow=False).status_code == 303
    assert not site.services.methods.reenrollment_gated(person.user.id)
    # Every code of the old set is void now.
    assert site.services.methods.recovery_codes_left(person.user.id) == len(
        person.recovery_codes)
    to_recovery_page(visitor, person)
    refused = visitor.submit("/login/recovery", code=person.recovery_codes[2])
    assert refused.status_code == 400


def to_recovery_page_after_reset(browser: HttpBrowser, person: Enrolled) -> None:
    browser.http.cookies.delete("nidan_sid")
    browser.go("/login", restart="1")
    page = browser.submit("/login", email=person.email, password=PASSWORD)
    assert str(page.url).endswith("/login/recovery")


def test_after_an_operator_reset_set_up_needs_the_enrollment_code_once(
    site: Site, visitor: HttpBrowser, person: Enrolled
) -> None:
    # covers C3: the operator's reset (what `idp users reset-2sv` and the admin API call).
    done = reset_two_step(site.services, person.user, actor="test")
    assert done.methods_removed == 2
    assert done.enrollment_code not in repr(done)
    to_recovery_page_after_reset(visitor, person)
    # The old recovery codes went with the reset.
    refused = visitor.submit("/login/recovery", code=person.recovery_codes[0])
    assert refused.status_code == 400
    page = visitor.submit("/login/recovery", code=done.enrollment_code.lower())
    assert str(page.url).endswith("/login/enroll")
    assert site.audited("method.reenroll.granted")[-1]["proof"] == "enrollment_code"
    assert all(done.enrollment_code not in str(e) for e in site.audited(
        "method.enrollment_code.issued"))
    # It worked once: another browser with the same code is refused.
    with closing(site.browser(local_address="127.0.0.10")) as other:
        other.go("/login")
        other.submit("/login", email=person.email, password=PASSWORD)
        again = other.submit("/login/recovery", code=done.enrollment_code)
        assert again.status_code == 400
        assert "That code is not right" in visible_text(again.text)
