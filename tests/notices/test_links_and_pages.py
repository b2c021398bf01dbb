"""One-time links on their own (expired, used, forged, another purpose), the expired page in
both languages, the recent activity on /account, and the dev outbox showing mails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from idp.notices.links import Links, LinkState
from idp.store import Store
from tests.account.helpers import SAFARI_IPHONE, HttpBrowser, Site, serve
from tests.notices.helpers import person, sign_in_as
from tests.web.html import visible_text

KEYS = ["test-cookie-key-0123456789"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_link_is_good_once_then_used(store: Store) -> None:
    clock = Clock()
    links = Links(KEYS, store, clock)
    token = links.issue("report", "u1", "n1", ttl=3600)
    assert links.peek(token, "report", max_age=3600).state is LinkState.OK
    assert links.peek(token, "verify", max_age=3600).state is LinkState.INVALID
    used = links.use(token, "report", max_age=3600)
    assert (used.state, used.user_id, used.reference) == (LinkState.OK, "u1", "n1")
    assert links.use(token, "report", max_age=3600).state is LinkState.USED
    assert links.peek(token[:-2] + "xx", "report", max_age=3600).state is LinkState.INVALID
    other_keys = Links(["another-cookie-key-0123456789"], store, clock)
    assert other_keys.peek(token, "report", max_age=3600).state is LinkState.INVALID


def test_an_old_link_is_expired_even_if_its_record_remains(store: Store) -> None:
    clock = Clock()
    links = Links(KEYS, store, clock)
    token = links.issue("report", "u1", "n2", ttl=10 * 3600)
    clock.now += 3601
    expired = links.use(token, "report", max_age=3600)
    assert (expired.state, expired.user_id) == (LinkState.EXPIRED, "u1")


@pytest.fixture(scope="module")
def dev_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("dev-notices"), server={"dev": True},
               notifications={"poll_s": 0.05}) as running:
        yield running


@pytest.mark.parametrize(("locale", "words"), [
    ("en", "This link has expired"), ("ja", "このリンクは有効期限が切れています"),
])
def test_an_expired_link_says_so_in_the_persons_language(
    dev_site: Site, locale: str, words: str
) -> None:
    user = person(dev_site, locale)
    keys = [k.get_secret_value() for k in dev_site.settings.secrets.cookie_keys]
    old = Links(keys, dev_site.services.store, lambda: time.time() - 3 * 24 * 3600)
    token = old.issue("report", user.id, "n-old", ttl=3600)
    page = httpx.get(f"{dev_site.base}/account/not-me", params={"t": token})
    assert page.status_code == 410
    assert page.headers["content-language"] == locale
    assert words in visible_text(page.text)


def _outbox_mail(path: Path, to: str) -> bool:
    from idp.delivery.outbox import read_outbox

    return any(r.get("channel") == "email" for r in read_outbox(path, to=to))


@pytest.mark.parametrize(("locale", "heading", "row"), [
    ("en", "Recent activity", "Signed in from a new browser"),
    ("ja", "最近のアクティビティ", "新しいブラウザからサインイン"),
])
def test_recent_activity_and_the_dev_outbox(dev_site: Site, locale: str, heading: str,
                                            row: str) -> None:
    user = person(dev_site, locale)
    first = HttpBrowser(dev_site, language=locale)
    second = HttpBrowser(dev_site, user_agent=SAFARI_IPHONE, language=locale)
    try:
        sign_in_as(first, user)
        page = sign_in_as(second, user)
        text = visible_text(page.text)
        assert heading in text
        assert row in text
        assert "Safari on iPhone" in text
        assert "127.0.0.x" in text
        deadline = time.monotonic() + 10
        while not _outbox_mail(dev_site.outbox, user.email):
            assert time.monotonic() < deadline, "no mail in the dev outbox"
            time.sleep(0.05)
        outbox = second.get("/dev/outbox")
        assert outbox.status_code == 200
        shown = visible_text(outbox.text)
        assert user.email in shown
        old = second.get("/dev/phone")
        assert old.status_code == 308
        assert old.headers["location"] == "/dev/outbox"
    finally:
        first.close()
        second.close()
