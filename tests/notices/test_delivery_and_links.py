"""A dead relay delays notices, never a sign-in; a flood is capped; "this wasn't me" ends
every session and trusted browser; the verification link makes email_verified true."""

from __future__ import annotations

import re
import time
from contextlib import closing

from idp.oidc.claims import user_claims
from tests.account.helpers import SAFARI_IPHONE, HttpBrowser, Site
from tests.notices.helpers import person, sign_in_as
from tests.notices.smtp_sink import SmtpSink
from tests.web.html import visible_text


def _link(text: str, path: str) -> str:
    found = re.search(re.escape(path) + r"\?t=[^\s\"<]+", text)
    assert found, f"no {path} link"
    return found.group(0)


def test_a_dead_relay_delays_the_notice_never_the_sign_in(site: Site, sink: SmtpSink
                                                          ) -> None:
    user = person(site, "en")
    first, second = HttpBrowser(site), HttpBrowser(site, user_agent=SAFARI_IPHONE)
    try:
        sign_in_as(first, user)
        sink.stop()
        try:
            started = time.monotonic()
            page = sign_in_as(second, user)
            took = time.monotonic() - started
            assert page.status_code == 200
            assert page.url.path == "/account"
            deadline = time.monotonic() + 10
            while not any(e["event"] == "notice.failed" and e.get("user_id") == user.id
                          for e in site.events):
                assert time.monotonic() < deadline, "the worker never tried"
                time.sleep(0.05)
            assert sink.to(user.email) == []
        finally:
            sink.start()
        # Back up: the retry (backoff from the store) delivers it, exactly once.
        assert len(sink.wait_for(user.email)) == 1
        time.sleep(0.3)
        assert len(sink.to(user.email)) == 1
        print(f"sign-in with the relay down took {took:.2f} s")
    finally:
        first.close()
        second.close()


def test_a_flood_is_capped(site: Site, sink: SmtpSink) -> None:
    user = person(site, "ja")
    cap = site.settings.notifications.cap_per_window
    for _ in range(cap * 3):
        site.services.audit.emit("login.locked", user_id=user.id, kind="locked", lock_s=1,
                                 failures=10)
    sink.wait_for(user.email, cap)
    time.sleep(0.5)
    assert len(sink.to(user.email)) == cap
    capped = [e for e in site.events if e["event"] == "notice.capped"
              and e.get("user_id") == user.id]
    assert len(capped) == cap * 2


def _report(site: Site, sink: SmtpSink, locale: str, language: str) -> None:
    user = person(site, locale)
    desk, phone = HttpBrowser(site, language=language), HttpBrowser(site, user_agent=SAFARI_IPHONE,
                                                            language=language)
    mail_reader = HttpBrowser(site, language=language)
    try:
        sign_in_as(desk, user)
        sign_in_as(phone, user, trust=True)  # a second browser, trusted: the intruder's
        assert site.services.devices.list(user)
        assert site.session_of(phone) is not None
        mails = sink.wait_for(user.email, 2)
        link = _link(mails[-1].part("plain"), "/account/not-me")
        page = mail_reader.get(link)
        assert page.status_code == 200
        done = mail_reader.submit(page, "/account/not-me")
        assert done.status_code == 200
        assert done.headers["content-language"] == locale
        assert site.session_of(phone) is None
        assert site.session_of(desk) is None
        assert site.services.devices.list(site.user(user.email)) == []
        assert site.services.notices.password_change_required(user.id)
        assert any(e["event"] == "user.reported_not_me" and e["user_id"] == user.id
                   for e in site.events)
        # The trusted browser asks for a code again, and the password page comes first.
        again = sign_in_as(phone, user)
        assert again.url.path == "/account/password"
        # A second click explains itself.
        twice = mail_reader.get(link)
        assert twice.status_code == 410
        used = {"en": "already used", "ja": "すでに使用されています"}[locale]
        assert used in visible_text(twice.text)
        bad = mail_reader.get("/account/not-me?t=nonsense")
        assert bad.status_code == 400
    finally:
        for browser in (desk, phone, mail_reader):
            browser.close()


def test_this_wasnt_me_en(site: Site, sink: SmtpSink) -> None:
    _report(site, sink, "en", "en")


def test_this_wasnt_me_ja(site: Site, sink: SmtpSink) -> None:
    _report(site, sink, "ja", "ja")


def test_the_verification_link_makes_the_address_verified(site: Site, sink: SmtpSink
                                                          ) -> None:
    user = person(site, "en", verified=False)
    assert user_claims(user, ["email_verified"]) == {"email_verified": False}
    with closing(HttpBrowser(site)) as browser:
        sign_in_as(browser, user)  # the first sign-in with an unverified address
        mail = sink.wait_for(user.email)[0]
        assert mail.subject == "[Nidan] Confirm your email address"
        link = _link(mail.part("plain"), "/email/verify")
        page = browser.get(link)
        assert page.status_code == 200
        assert site.user(user.email).email_verified is False  # a GET changes nothing
        done = browser.submit(page, "/email/verify")
        assert done.status_code == 200
        fresh = site.user(user.email)
        assert fresh.email_verified
        assert user_claims(fresh, ["email_verified"]) == {"email_verified": True}
        assert browser.get(link).status_code == 410
