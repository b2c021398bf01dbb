"""The plain values behind the pages: browser names split for translation, times."""

from __future__ import annotations

import pytest

from idp.account.views import browser_entries, moment, split_label
from idp.devices import TrustedBrowser, label_from_user_agent
from tests.account.helpers import FIREFOX_UBUNTU, SAFARI_IPHONE


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (SAFARI_IPHONE, ("Safari", "iPhone")),
        (FIREFOX_UBUNTU, ("Firefox 128", "Ubuntu")),
        ("Mozilla/5.0 (Linux; Android 14; K) AppleWebKit/537.36 (KHTML, like Gecko) "
         "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
         ("Samsung Internet 25", "Android")),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Mobile/15E148", (None, "iPhone")),
        ("curl/8.0", (None, None)),
        (None, (None, None)),
    ],
)
def test_every_label_shape_splits(
    user_agent: str | None, expected: tuple[str | None, str | None]
) -> None:
    # covers T3
    assert split_label(label_from_user_agent(user_agent)) == expected


def test_equal_labels_keep_their_number() -> None:
    # covers T3
    def entry(device_id: str, name: str) -> TrustedBrowser:
        return TrustedBrowser(device_id=device_id, label="Safari on iPhone", name=name,
                              created=1000.0, last_used=2000.0, ip=None, expires=9e9)

    entries = browser_entries([entry("b", "Safari on iPhone (2)"),
                               entry("a", "Safari on iPhone (1)")], "en", now=2060.0)
    assert [(e.browser, e.system, e.suffix) for e in entries] == [
        ("Safari", "iPhone", "(2)"), ("Safari", "iPhone", "(1)")
    ]
    assert entries[0].last_used.ago == "1 minute ago"
    assert entries[0].added.iso == "1970-01-01T00:16:40Z"


def test_times_read_naturally_in_both_languages() -> None:
    # covers L1
    assert moment(0.0, "en", now=3 * 86400).ago == "3 days ago"
    assert "日前" in moment(0.0, "ja", now=3 * 86400).ago
    assert moment(100.0, "en", now=50.0).ago.endswith("ago")  # a clock a little behind
