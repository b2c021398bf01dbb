"""Password limits over real HTTP (S4): delay, lock, per-IP limit, hard stop and unlock; kept
apart from code limits; and failures that never reveal whether an account exists."""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path

import httpx

from idp.login import unlock
from idp.login.limits import PasswordLimits, limits_secret
from tests.login.helpers import PASSWORD, Enrolled, HttpBrowser, Site, create_user, enroll, serve
from tests.web.html import visible_text

INVALID = "The sign-in details you entered are not correct. Check them and try again."
LOCKED = "Sign-in is temporarily unavailable after too many attempts. Please try again later."


def attempt(browser: HttpBrowser, email: str, password: str) -> httpx.Response:
    browser.go("/login", restart="1")
    return browser.submit("/login", email=email, password=password)


def shown(response: httpx.Response) -> str:
    """The page as a person sees it, without what differs from one transaction to another."""
    return visible_text(response.text)


def test_unknown_and_known_accounts_fail_alike(site: Site, visitor: HttpBrowser,
                                               person: Enrolled) -> None:
    # covers S4
    known = attempt(visitor, person.email, "wrong password 1")
    unknown = attempt(visitor, "nobody@example.com", "wrong password 1")
    nonsense = attempt(visitor, "not an address", "wrong password 1")
    assert known.status_code == unknown.status_code == nonsense.status_code == 400
    assert INVALID in shown(known)
    assert shown(known).replace(person.email, "X") == shown(unknown).replace(
        "nobody@example.com", "X")
    failures = site.audited("login.password.failed")
    assert [f.get("user_id") for f in failures] == [person.user.id, None, None]
    assert [f["reason"] for f in failures] == ["wrong_password", "unknown_account",
                                               "unknown_account"]
    for event in site.events:  # the audit never carries what was typed
        assert "wrong password" not in str(event)
        assert "nobody@example.com" not in str(event)
    # An unknown address costs a password hash like a known one (constant-time-ish S4).
    assert PASSWORD not in str(site.events)


def test_failures_slow_down_whether_or_not_the_account_exists(tmp_path: Path) -> None:
    # covers S4
    with serve(tmp_path, limits={"password_delay_after": 2}) as site:
        create_user(site.services, "slow@example.com")
        with closing(site.browser()) as browser:
            pages = {}
            for email in ("slow@example.com", "ghost@example.com"):
                first = attempt(browser, email, "nope-1")
                second = attempt(browser, email, "nope-2")
                assert first.status_code == second.status_code == 400
                # Right after the second failure: wait, whatever the password (nothing
                # sleeps on the server: the attempt is not looked at).
                early = attempt(browser, email, PASSWORD)
                assert early.status_code == 429
                pages[email] = shown(early).replace(email, "X")
                assert re.search(r"Please wait \d+ seconds and try again", pages[email])
            assert pages["slow@example.com"] == pages["ghost@example.com"]
            throttled = site.audited("login.throttled")
            assert [t["kind"] for t in throttled] == ["delay", "delay"]
            assert all("user_id" not in t for t in throttled)


def test_failures_lock_the_account_until_it_is_unlocked(tmp_path: Path) -> None:
    # covers S4
    limits: dict[str, object] = {"password_delay_after": 50, "password_lock_after": 3,
                                 "password_lock_s": 900}
    with serve(tmp_path, limits=limits) as site:
        user = create_user(site.services, "lock@example.com")
        with closing(site.browser()) as browser:
            assert INVALID in shown(attempt(browser, "lock@example.com", "nope-1"))
            assert INVALID in shown(attempt(browser, "lock@example.com", "nope-2"))
            third = attempt(browser, "lock@example.com", "nope-3")
            assert third.status_code == 429
            assert LOCKED in shown(third)
            locked = attempt(browser, "lock@example.com", PASSWORD)
            assert (locked.status_code, LOCKED in shown(locked)) == (429, True)
            assert site.audited("login.locked")[-1]["user_id"] == user.id
            # An unknown address locks the same way and says the same (S4).
            for n in range(3):
                ghost = attempt(browser, "ghost@example.com", f"nope-{n}")
            assert shown(ghost).replace("ghost@example.com", "X") == shown(locked).replace(
                "lock@example.com", "X")
            # The operator's `idp users unlock EMAIL`.
            assert unlock(site.services, "lock@example.com") is True
            assert site.audited("login.unlocked")[-1]["user_id"] == user.id
            page = attempt(browser, "lock@example.com", PASSWORD)
            assert str(page.url).endswith("/login/enroll")


def test_a_hard_stop_needs_an_operator(tmp_path: Path) -> None:
    # covers S4
    limits: dict[str, object] = {"password_delay_after": 50, "password_lock_after": 50,
                                 "password_hard_stop": 3}
    with serve(tmp_path, limits=limits) as site:
        create_user(site.services, "stop@example.com")
        with closing(site.browser()) as browser:
            for n in range(3):
                attempt(browser, "stop@example.com", f"nope-{n}")
            assert site.audited("login.locked")[-1]["kind"] == "stopped"
            for _ in range(2):
                assert LOCKED in shown(attempt(browser, "stop@example.com", PASSWORD))
            unlock(site.services, "stop@example.com")
            assert str(attempt(browser, "stop@example.com", PASSWORD).url).endswith(
                "/login/enroll")


def test_one_address_is_limited_across_accounts(tmp_path: Path) -> None:
    # covers S4
    with serve(tmp_path, limits={"password_per_ip_per_minute": 3}) as site:
        create_user(site.services, "ip@example.com")
        here, elsewhere = site.browser(), site.browser(local_address="127.0.0.2")
        try:
            for n in range(3):
                attempt(here, f"guess{n}@example.com", "nope")
            refused = attempt(here, "ip@example.com", PASSWORD)
            assert refused.status_code == 429
            assert "Please wait" in shown(refused)
            assert site.audited("login.throttled")[-1]["kind"] == "ip"
            # Another address is not concerned.
            page = attempt(elsewhere, "ip@example.com", PASSWORD)
            assert str(page.url).endswith("/login/enroll")
        finally:
            here.close()
            elsewhere.close()


def test_wrong_codes_never_lock_the_password(site: Site, visitor: HttpBrowser,
                                             person: Enrolled) -> None:
    # covers S4, S5
    attempt(visitor, person.email, PASSWORD)
    tries = site.settings.limits.code_tries
    for _ in range(tries):
        assert visitor.submit("/login/code", code="000000").status_code == 400
    refused = visitor.submit("/login/code", code="000000")
    assert refused.status_code == 429
    assert "Too many wrong codes" in shown(refused)
    # The password still works: a new journey reaches the code page, where the backup
    # still works (its tries are its own).
    page = attempt(visitor, person.email, PASSWORD)
    assert str(page.url).endswith("/login/code")
    counters = PasswordLimits(site.services.store, site.settings.limits,
                              limits_secret(site.settings))
    assert counters.failures(counters.subject(person.email)) == 0
    page = visitor.go("/login/code", use="backup")
    assert person.phone is not None
    done = visitor.submit("/login/code", follow=False, code=site.outbox.code(person.phone))
    assert done.status_code == 303


def test_wrong_passwords_leave_the_code_tries_alone(site: Site, visitor: HttpBrowser) -> None:
    # covers S4
    person = enroll(site.services, site.outbox, create_user(site.services, "p@example.com"))
    for n in range(4):
        attempt(visitor, person.email, f"nope-{n}")
    page = attempt(visitor, person.email, PASSWORD)
    assert str(page.url).endswith("/login/code")
    assert person.app is not None
    assert visitor.submit("/login/code", follow=False, code=person.app.code()).status_code == 303
    assert site.audited("method.verify.failed") == []


def test_a_lock_holds_the_account_ip_pair_and_the_hard_stop_the_account(tmp_path: Path) -> None:
    # covers S4: a stranger hammering an address cannot lock its owner out elsewhere, but
    # guesses from many addresses still add up to the account's hard stop.
    limits: dict[str, object] = {"password_delay_after": 50, "password_lock_after": 3,
                                 "password_hard_stop": 5}
    with serve(tmp_path, limits=limits) as site:
        create_user(site.services, "pair@example.com")
        stranger, owner = site.browser(), site.browser(local_address="127.0.0.2")
        third = site.browser(local_address="127.0.0.3")
        try:
            for n in range(3):
                last = attempt(stranger, "pair@example.com", f"nope-{n}")
            assert last.status_code == 429
            assert LOCKED in shown(attempt(stranger, "pair@example.com", PASSWORD))
            # The owner, from their own address, is not locked out.
            assert str(attempt(owner, "pair@example.com", PASSWORD).url).endswith(
                "/login/enroll")
            # Failures from everywhere count towards the hard stop (5 in a row).
            for n in range(4):
                attempt(owner if n % 2 else third, "pair@example.com", f"again-{n}")
            attempt(third, "pair@example.com", "again-last")
            assert site.audited("login.locked")[-1]["kind"] == "stopped"
            assert LOCKED in shown(attempt(owner, "pair@example.com", PASSWORD))
        finally:
            for browser in (stranger, owner, third):
                browser.close()
