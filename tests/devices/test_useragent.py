"""Labels a person recognises, from real User-Agent strings (covers T3)."""

from __future__ import annotations

import pytest

from idp.devices import UNKNOWN_BROWSER, label_from_user_agent

# Real User-Agent strings as the browsers send them (2024 releases), with the label shown on
# the settings page.
REAL_USER_AGENTS = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Chrome 126 on Windows",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
        "Edge 126 on Windows",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Firefox 127 on Windows",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0",
        "Opera 111 on Windows",
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Firefox 128 on Ubuntu",
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Chrome 126 on Linux",
    ),
    (
        "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Firefox 127 on Fedora",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        "Safari on macOS",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        "Chrome 126 on macOS",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Firefox 127 on macOS",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari on iPhone",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari on iPad",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        "Chrome 126 on iPhone",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
        "Firefox 127 on iPhone",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 EdgiOS/126.2592.56 Mobile/15E148 Safari/605.1.15",
        "Edge 126 on iPhone",
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36",
        "Chrome 126 on Android",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        "Samsung Internet 25 on Android",
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
        "Firefox 127 on Android",
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36 EdgA/126.0.0.0",
        "Edge 126 on Android",
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36 OPR/83.0.0.0",
        "Opera 83 on Android",
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Chrome 126 on ChromeOS",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Safari Line/14.9.0",
        "LINE on iPhone",
    ),
    (
        # An app's embedded web view: WebKit on an iPhone, but no browser named.
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148",
        "Unknown browser on iPhone",
    ),
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        UNKNOWN_BROWSER,
    ),
    ("curl/8.5.0", UNKNOWN_BROWSER),
]


@pytest.mark.parametrize(("user_agent", "label"), REAL_USER_AGENTS)
def test_real_user_agents_get_recognisable_labels(user_agent: str, label: str) -> None:
    # covers T3: "a name a person recognises (browser and OS)"
    assert label_from_user_agent(user_agent) == label


@pytest.mark.parametrize("user_agent", [None, "", "   "])
def test_missing_user_agent_is_unknown(user_agent: str | None) -> None:
    assert label_from_user_agent(user_agent) == UNKNOWN_BROWSER


def test_label_uses_only_its_own_vocabulary() -> None:
    # A hostile User-Agent cannot put its own text into a label (it is shown on a page and
    # written to the audit log).
    hostile = (
        "Mozilla/5.0 (Windows NT 10.0; <script>alert(1)</script>) Chrome/999999.0 "
        "Safari/537.36 " + "A" * 100_000
    )
    label = label_from_user_agent(hostile)
    assert label == "Unknown browser on Windows"
    assert "<" not in label_from_user_agent("Chrome/126 <b>x</b>")
