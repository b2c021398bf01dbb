"""A name a person recognises for a browser, from its User-Agent (BEHAVIOUR T3).

Deliberately small: the label names the browser family with its major version and the
operating system ("Chrome 126 on Windows", "Safari on iPhone", "Firefox 128 on Ubuntu"), which
is what a person needs to tell their own browsers apart on the settings page. It is built only
from a fixed vocabulary and digits, so a hostile User-Agent can never put text of its own on a
page or in a log.

Known limits, all from the browsers themselves: Chrome's reduced User-Agent says "Windows NT
10.0" on Windows 11, "Mac OS X 10_15_7" on every macOS and "Android 10; K" on every Android, so
no OS versions are shown; iPadOS Safari asks for desktop pages by default and then looks
exactly like Safari on macOS.
"""

from __future__ import annotations

import re

__all__ = ["UNKNOWN_BROWSER", "label_from_user_agent"]

UNKNOWN_BROWSER = "Unknown browser"

# Nobody's User-Agent is this long; the cap keeps the regexes' work bounded whatever is sent.
_MAX_USER_AGENT_CHARS = 1024

# Browser brands in the order they must be tried: Edge, Opera, Samsung Internet and LINE all
# also say "Chrome/" (or "Safari"), and Chrome says "Safari/", so the specific ones come first.
# Each pattern captures the major version.
_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Edge", re.compile(r"\b(?:Edg|EdgA|EdgiOS|Edge)/(\d{1,4})(?!\d)")),
    ("Opera", re.compile(r"\b(?:OPR|OPT|OPiOS)/(\d{1,4})(?!\d)")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/(\d{1,4})(?!\d)")),
    # LINE's in-app browser: how many people in Japan open links; it is not Safari or Chrome.
    ("LINE", re.compile(r"\bLine/(\d{1,4})(?!\d)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d{1,4})(?!\d)")),
    ("Chrome", re.compile(r"\b(?:CriOS|Chrome)/(\d{1,4})(?!\d)")),
)
# Safari's own version follows the OS release and is not shown; "Version/" tells real Safari
# from an app's embedded WebKit view, which says only "Mobile/... Safari".
_SAFARI = re.compile(r"\bVersion/\d{1,4}[.\d]*(?: Mobile/\S+)? Safari/")

# Operating systems, most specific first: iOS says "like Mac OS X", Android and ChromeOS say
# "Linux".
_SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iPhone", re.compile(r"\(iPhone\b")),
    ("iPad", re.compile(r"\(iPad\b")),
    ("iPod touch", re.compile(r"\(iPod\b")),
    ("Android", re.compile(r"\bAndroid\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMacintosh\b|\bMac OS X\b")),
    ("Ubuntu", re.compile(r"\bUbuntu\b")),
    ("Fedora", re.compile(r"\bFedora\b")),
    ("Debian", re.compile(r"\bDebian\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)
_APPLE_SYSTEMS = frozenset({"iPhone", "iPad", "iPod touch", "macOS"})
# Browsers that show a version: the version tells two installs apart after an update.
_VERSIONED = frozenset({"Edge", "Opera", "Samsung Internet", "Firefox", "Chrome"})


def _system(user_agent: str) -> str | None:
    for name, pattern in _SYSTEMS:
        if pattern.search(user_agent):
            return name
    return None


def _browser(user_agent: str, system: str | None) -> str | None:
    for name, pattern in _BROWSERS:
        match = pattern.search(user_agent)
        if match:
            if name in _VERSIONED:
                return f"{name} {int(match.group(1))}"
            return name
    # "Version/x Safari/" without any brand above: Safari, but only on Apple systems (old
    # Android stock browsers also say it, and Safari for Windows ended in 2012).
    if system in _APPLE_SYSTEMS and _SAFARI.search(user_agent):
        return "Safari"
    return None


def label_from_user_agent(user_agent: str | None) -> str:
    """``"<browser> [<major version>] on <system>"``, or less when less is known.

    Returns ``"Unknown browser"`` for an empty or unrecognised value, and ``"Unknown browser
    on <system>"`` when only the system is recognised (an app's embedded browser, for one).

    >>> label_from_user_agent("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) "
    ...                       "Gecko/20100101 Firefox/128.0")
    'Firefox 128 on Ubuntu'
    """
    if not user_agent:
        return UNKNOWN_BROWSER
    text = user_agent[:_MAX_USER_AGENT_CHARS]
    # Crawlers borrow a browser's User-Agent and add "(compatible; Somebot/2.1)".
    if "compatible;" in text:
        return UNKNOWN_BROWSER
    system = _system(text)
    browser = _browser(text, system)
    if browser is None:
        return f"{UNKNOWN_BROWSER} on {system}" if system else UNKNOWN_BROWSER
    return f"{browser} on {system}" if system else browser
