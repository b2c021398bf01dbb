"""Trusted browsers on the settings page (BEHAVIOUR T3, T4, A1): listed so that each is
recognisable, removable one by one or all at once, effective immediately."""

from __future__ import annotations

from contextlib import closing

from idp.users import User
from tests.account.forms import forms_for
from tests.account.helpers import (
    CHROME_WINDOWS,
    FIREFOX_UBUNTU,
    PASSWORD,
    SAFARI_IPHONE,
    HttpBrowser,
    Site,
    create_seller,
)
from tests.account.journey import sign_in
from tests.web.html import elements, visible_text

REMOVE = "/account/browsers/remove"
REMOVE_ALL = "/account/browsers/remove-all"


def browser_names(html: str) -> list[str]:
    return [" ".join(e.text.split()) for e in elements(html, "h3", class_="account-browser__name")]


def test_two_browsers_are_listed_distinguishably(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers T3 (the seeds: "2 browsers don't require a code" that nobody could tell apart)
    devices = site.services.devices
    devices.trust(seller, user_agent=CHROME_WINDOWS, ip="203.0.113.7")
    devices.trust(seller, user_agent=CHROME_WINDOWS, ip="198.51.100.20")
    sign_in(desktop, seller)
    with closing(HttpBrowser(site)) as english:
        english.http.cookies.set("nidan_lang", "en", domain="127.0.0.1", path="/")
        sign_in(english, seller)
        page = english.get("/account")
    text = visible_text(page.text)
    assert "2 browsers don't require a code" in text
    names = browser_names(page.text)
    # Same browser, same system: the names still differ, and so do the addresses.
    assert names == ["Chrome 126 on Windows (2)", "Chrome 126 on Windows (1)"]
    assert "203.0.113.7" in text
    assert "198.51.100.20" in text
    assert "Added" in text
    assert "Last used" in text
    assert "ago" in text
    assert len(forms_for(page.text, REMOVE)) == 2
    japanese = desktop.get("/account")
    assert "コードの入力が不要なブラウザが2件あります" in visible_text(japanese.text)
    assert browser_names(japanese.text) == [
        "WindowsのChrome 126 (2)", "WindowsのChrome 126 (1)"
    ]


def test_browsers_are_named_by_browser_and_system(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers T3
    devices = site.services.devices
    for agent in (SAFARI_IPHONE, FIREFOX_UBUNTU, "curl/8.0", None):
        devices.trust(seller, user_agent=agent, ip=None)
    sign_in(desktop, seller)
    page = desktop.get("/account")
    assert browser_names(page.text) == [
        "不明なブラウザ (2)", "不明なブラウザ (1)", "UbuntuのFirefox 128", "iPhoneのSafari",
    ]
    assert "不明" in visible_text(page.text)  # no IP address recorded


def test_remove_one_then_all(site: Site, seller: User, desktop: HttpBrowser) -> None:
    # covers T3, T4
    devices = site.services.devices
    keep = devices.trust(seller, user_agent=SAFARI_IPHONE, ip="203.0.113.7")
    gone = devices.trust(seller, user_agent=CHROME_WINDOWS, ip="198.51.100.20")
    sign_in(desktop, seller)
    page = desktop.get("/account")
    chrome = next(f for f in forms_for(page.text, REMOVE)
                  if f.fields["device_id"] == devices.list(seller)[0].device_id)
    removed = desktop.submit(page, REMOVE, form=chrome)
    assert removed.status_code == 303
    assert removed.headers["location"] == "/account?done=browser_removed"
    after = desktop.follow(removed)
    assert browser_names(after.text) == ["iPhoneのSafari"]
    assert "そのブラウザでは、次回のサインイン時にコードの入力が必要になります" in visible_text(
        after.text
    )
    # Effective at once: the removed browser's cookie no longer counts (T4).
    check = devices.check(seller, gone.value, fresh_2sv_required=False, ip="198.51.100.20")
    assert not check.trusted
    assert devices.check(seller, keep.value, fresh_2sv_required=False, ip=None).trusted
    everything = desktop.submit(after, REMOVE_ALL)
    assert everything.headers["location"] == "/account?done=browsers_removed"
    assert devices.count(seller) == 0
    assert not devices.check(seller, keep.value, fresh_2sv_required=False, ip=None).trusted
    final = desktop.follow(everything)
    assert "どのブラウザでもコードの入力が必要です" in visible_text(final.text)
    assert forms_for(final.text, REMOVE_ALL) == []
    assert [e["actor"] for e in site.events_named("device.revoked")] == ["user"]
    by_person = [e for e in site.events_named("device.revoked_all") if e["actor"] == "user"]
    assert [e["count"] for e in by_person] == [1]


def test_removing_another_persons_browser_does_nothing(
    site: Site, seller: User, desktop: HttpBrowser
) -> None:
    # covers T3
    other = create_seller(site, "other@example.com", phone="+819055556666")
    theirs = site.services.devices.trust(other, user_agent=CHROME_WINDOWS, ip=None)
    their_id = site.services.devices.list(other)[0].device_id
    site.services.devices.trust(seller, user_agent=SAFARI_IPHONE, ip=None)
    sign_in(desktop, seller)
    page = desktop.get("/account")
    response = desktop.submit(page, REMOVE, {"device_id": their_id})
    assert response.status_code == 303
    assert response.headers["location"] == "/account"  # nothing of the seller's was removed
    assert site.services.devices.check(other, theirs.value, fresh_2sv_required=False,
                                       ip=None).trusted
    assert site.services.devices.count(seller) == 1


def test_many_trusted_browsers_are_flagged(site: Site, seller: User, desktop: HttpBrowser) -> None:
    # covers A1
    devices = site.services.devices
    agents = (CHROME_WINDOWS, SAFARI_IPHONE, FIREFOX_UBUNTU)
    for agent in agents:
        devices.trust(seller, user_agent=agent, ip=None)
    sign_in(desktop, seller)
    calm = desktop.get("/account")
    assert elements(calm.text, "div", class_="alert alert--error account-warning") == []
    assert "コードの入力が不要なブラウザが3件あります" in visible_text(calm.text)
    devices.trust(seller, user_agent=CHROME_WINDOWS, ip=None)
    flagged = desktop.get("/account")
    warning = elements(flagged.text, "div", class_="alert alert--error account-warning")
    assert len(warning) == 1
    assert "ログイン情報は共有せず" in warning[0].text
    assert "コードの入力が不要なブラウザが4件あります" in visible_text(flagged.text)


def test_the_journey_end_to_end(site: Site) -> None:
    # covers T1, T2, T3, T4 (the seeds' seller: two entries, now recognisable, removable)
    user = create_seller(site, "en@example.com", locale="en", phone="+819033334444")
    pc, phone = HttpBrowser(site), HttpBrowser(site, user_agent=SAFARI_IPHONE)
    try:
        for browser in (pc, phone):
            assert sign_in(browser, user, trust=True).url.path == "/account"
        page = pc.get("/account")
        assert "2 browsers don't require a code" in visible_text(page.text)
        assert browser_names(page.text) == ["Safari on iPhone", "Chrome 126 on Windows"]
        iphone = next(f for f in forms_for(page.text, REMOVE)
                      if f.fields["device_id"] == site.services.devices.list(user)[0].device_id)
        pc.submit(page, REMOVE, form=iphone)
        # The iPhone signs in again: its cookie no longer counts, the code is asked.
        phone.submit(phone.get("/account"), "/account/sign-out")
        asked = phone.follow(phone.submit(phone.follow(phone.get("/account")), "/login",
                                          {"email": user.email, "password": PASSWORD}))
        assert asked.url.path == "/login/code"
        rejected = site.events_named("device.rejected")
        assert [e["reason"] for e in rejected] == ["unknown"]
        # The PC is still trusted: password only.
        pc.submit(pc.get("/account"), "/account/sign-out")
        assert sign_in(pc, user).url.path == "/account"
        # Remove all: the PC too is asked for a code at its next sign-in.
        pc.submit(pc.get("/account"), REMOVE_ALL)
        pc.submit(pc.get("/account"), "/account/sign-out")
        again = pc.follow(pc.submit(pc.follow(pc.get("/account")), "/login",
                                    {"email": user.email, "password": PASSWORD}))
        assert again.url.path == "/login/code"
    finally:
        pc.close()
        phone.close()
