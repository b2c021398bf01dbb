"""Every way a browser might try to reach "signed in" without passing a second factor, over
real HTTP. Each attempt must leave the browser without a session (and without trust)."""

from __future__ import annotations

import httpx

from idp.resets import reset_two_step
from tests.login.helpers import (
    MOBILE_E164,
    PASSWORD,
    Enrolled,
    HttpBrowser,
    Site,
    create_user,
    enroll,
    form,
)
from tests.web.html import visible_text

EXPIRED = "Your session has expired"


def at_code_step(browser: HttpBrowser, person: Enrolled) -> httpx.Response:
    browser.go("/login")
    page = browser.submit("/login", email=person.email, password=PASSWORD)
    assert str(page.url).endswith("/login/code")
    return page


def test_step_urls_cannot_be_skipped(site: Site, visitor: HttpBrowser, person: Enrolled) -> None:
    # covers S1
    visitor.go("/login")
    for path in ("/login/code", "/login/enroll", "/login/enroll/verify", "/login/enroll/codes",
                 "/login/recovery"):
        response = visitor.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/login"), path
    page = visitor.go("/login")
    tx_id = form(page.text, "/login").hidden["tx"]
    assert person.app is not None
    for action, purpose, data in (
        ("/login/code", "login-code", {"code": person.app.code(), "trust": "1"}),
        ("/login/code/resend", "login-resend", {}),
        ("/login/enroll/codes", "login-codes", {"trust": "1"}),
        ("/login/enroll/codes/download", "login-codes-download", {}),
        ("/login/recovery", "login-recovery", {"code": person.recovery_codes[0]}),
        ("/login/enroll", "login-enroll", {"method": "totp"}),
        ("/login/enroll/verify", "login-enroll-verify", {"code": "123456"}),
    ):
        # A valid CSRF token of each form: what is refused is the step itself.
        token = visitor.csrf(purpose)
        response = visitor.http.post(action, data={"tx": tx_id, "csrf_token": token, **data})
        assert (response.status_code, response.headers.get("location")) == (303, "/login"), (
            action)
    assert visitor.whoami() is None
    assert visitor.trust_cookies() == {}
    assert site.audited("login.succeeded") == []


def test_a_finished_transaction_cannot_be_replayed(site: Site, visitor: HttpBrowser,
                                                   person: Enrolled) -> None:
    # covers S1
    page = at_code_step(visitor, person)
    cookie = visitor.http.cookies.get("nidan_login")
    assert cookie
    fields = form(page.text, "/login/code").hidden
    assert person.app is not None
    done = visitor.submit("/login/code", follow=False, code=person.app.code())
    assert done.status_code == 303
    assert visitor.http.cookies.get("nidan_login") is None  # cleared with the journey
    session = visitor.whoami()
    assert session is not None
    # The same form, the same transaction cookie, a fresh code: the transaction is gone.
    visitor.set_cookie("nidan_login", cookie)
    replay = visitor.http.post("/login/code", data={**fields, "code": person.app.code()})
    assert replay.status_code == 400
    assert EXPIRED in visible_text(replay.text)
    assert visitor.whoami() == session  # nothing new
    # Going back after done: the code page is gone too.
    back = visitor.get("/login/code")
    assert back.status_code == 400
    assert EXPIRED in visible_text(back.text)
    assert len(site.audited("login.succeeded")) == 1


def test_cookies_swapped_between_two_browsers_move_nothing(site: Site,
                                                          person: Enrolled) -> None:
    other = enroll(site.services, site.outbox, create_user(site.services, "b@example.com"),
                   backup=("sms", "080-7777-6666"))
    first, second = site.browser(), site.browser()
    try:
        page_a = at_code_step(first, person)
        page_b = at_code_step(second, other)
        tx_a = first.http.cookies.get("nidan_login")
        tx_b = second.http.cookies.get("nidan_login")
        assert tx_a
        assert tx_b
        assert tx_a != tx_b
        fields_a = form(page_a.text, "/login/code").hidden
        # HttpBrowser A's form with browser B's transaction cookie: another transaction.
        first.http.cookies.set("nidan_login", tx_b)
        assert person.app is not None
        assert other.app is not None
        # HttpBrowser A's CSRF cookie stays its own, so the form's token is valid; only the
        # transaction differs.
        response = first.http.post("/login/code", data={**fields_a, "code": person.app.code()})
        assert response.status_code == 303
        assert response.headers["location"] == "/login/code"
        assert site.audited("login.refused")[-1]["reason"] == "other_transaction"
        # B's page, B's cookie, A's code: a wrong code for B's person.
        second_page = second.go("/login/code")
        wrong = second.submit("/login/code", code=person.app.code())
        assert wrong.status_code == 400
        assert "That code is not right" in visible_text(wrong.text)
        assert second_page.status_code == 200
        assert first.whoami() is None
        assert second.whoami() is None
        assert page_b.status_code == 200
    finally:
        first.close()
        second.close()


def test_trust_is_never_given_without_a_right_code(site: Site, visitor: HttpBrowser,
                                                   person: Enrolled) -> None:
    # covers T1
    at_code_step(visitor, person)
    wrong = visitor.submit("/login/code", code="000000", trust="1")
    assert wrong.status_code == 400
    assert visitor.trust_cookies() == {}
    # The "continue" of the enrollment's end, posted at the code step: sent back.
    page = visitor.go("/login/code")
    fields = {**form(page.text, "/login/code").hidden, "csrf_token": visitor.csrf("login-codes")}
    response = visitor.http.post("/login/enroll/codes", data={**fields, "trust": "1"})
    assert (response.status_code, response.headers["location"]) == (303, "/login/code")
    assert visitor.trust_cookies() == {}
    assert site.services.devices.count(person.user) == 0
    assert visitor.whoami() is None


def test_a_person_disabled_mid_journey_is_not_signed_in(site: Site, visitor: HttpBrowser,
                                                        person: Enrolled) -> None:
    at_code_step(visitor, person)
    site.services.accounts.set_status(person.user.id, "disabled")
    assert person.app is not None
    response = visitor.submit("/login/code", code=person.app.code())
    assert response.status_code == 400
    assert EXPIRED in visible_text(response.text)
    assert visitor.whoami() is None
    # And a disabled person's right password reads like any failure (S4).
    visitor.go("/login")
    page = visitor.submit("/login", email=person.email, password=PASSWORD)
    assert page.status_code == 400
    assert "The sign-in details you entered are not correct" in visible_text(page.text)


def test_a_reset_of_two_step_verification_mid_journey_ends_it(site: Site, visitor: HttpBrowser,
                                                              person: Enrolled) -> None:
    # covers C3, E1
    at_code_step(visitor, person)
    page = visitor.go("/login/code", use="backup")
    fields = form(page.text, "/login/code").hidden
    code = site.outbox.code(MOBILE_E164)
    done = reset_two_step(site.services, person.user, actor="cli")  # `idp users reset-2sv`
    response = visitor.http.post("/login/code", data={**fields, "code": code})
    assert response.status_code == 400
    assert EXPIRED in visible_text(response.text)
    assert visitor.whoami() is None
    # The next sign-in goes through enrollment (E1), once the operator's code is entered.
    visitor.go("/login")
    page = visitor.submit("/login", email=person.email, password=PASSWORD)
    assert str(page.url).endswith("/login/recovery")
    page = visitor.submit("/login/recovery", code=done.enrollment_code)
    assert str(page.url).endswith("/login/enroll")
