"""Trusted browsers (BEHAVIOUR T1-T5, C4, A1): signed cookies backed by server records.

The sign-in pages call :meth:`TrustedBrowsers.check` after the password and
:meth:`TrustedBrowsers.trust` after a right code with "don't require codes on this browser"
ticked; the security settings page and ``idp users`` use :meth:`~TrustedBrowsers.list`,
:meth:`~TrustedBrowsers.many`, :meth:`~TrustedBrowsers.revoke` and
:meth:`~TrustedBrowsers.revoke_all`. No web framework here: plain values in, plain values out.
"""

from idp.devices.cookies import CookieKeyError, IssuedCookie
from idp.devices.model import TrustedBrowser, TrustReason, TrustResult
from idp.devices.trusted import DEFAULT_MAX_PER_USER, DEFAULT_WARN_ABOVE, TrustedBrowsers
from idp.devices.useragent import UNKNOWN_BROWSER, label_from_user_agent

__all__ = [
    "DEFAULT_MAX_PER_USER",
    "DEFAULT_WARN_ABOVE",
    "UNKNOWN_BROWSER",
    "CookieKeyError",
    "IssuedCookie",
    "TrustReason",
    "TrustResult",
    "TrustedBrowser",
    "TrustedBrowsers",
    "label_from_user_agent",
]
