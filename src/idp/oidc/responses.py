"""Authorization responses to the client: the code or an error, as a redirect with a query
(``response_mode=query``) or an auto-submitted form (OAuth 2.0 Form Post Response Mode).

Every one of them, success or error, carries the issuer (RFC 9207 2: "including error
responses"), so a client talking to several providers can't be tricked into sending our code
to another (mix-up attacks). authlib's own ``IssuerParameter`` misses errors raised before
consent and form_post responses, so this module is the one place responses are built.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["RESPONSE_MODES", "Triple", "authorization_response", "response_mode"]

Triple = tuple[int, str, list[tuple[str, str]]]

RESPONSE_MODES: Final = ("query", "form_post")

# The form submits itself; the page allows exactly this script by hash (CSP Level 3), since
# every other page of ours forbids inline script.
_SUBMIT_SCRIPT: Final = "document.forms[0].submit();"
_SCRIPT_HASH: Final = base64.b64encode(hashlib.sha256(_SUBMIT_SCRIPT.encode()).digest()).decode()
# No form-action: the target is a registered redirect URI, and Chrome would also apply
# form-action to wherever the client redirects next.
FORM_POST_CSP: Final = (
    f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def response_mode(value: str | None) -> str | None:
    """The response mode asked for, ``query`` by default; ``None`` if we don't offer it."""
    if value is None or value == "":
        return "query"
    return value if value in RESPONSE_MODES else None


def _with_query(uri: str, params: Sequence[tuple[str, str]]) -> str:
    # Keep the registered URI's own query exactly as registered; append ours.
    parts = urlsplit(uri)
    added = urlencode(list(params))
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _form_post(uri: str, params: Sequence[tuple[str, str]]) -> str:
    fields = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in params
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Continue</title>'
        '<meta name="robots" content="noindex, nofollow"></head><body>'
        f'<form method="post" action="{html.escape(uri)}">{fields}'
        "<noscript><button type=\"submit\">Continue</button></noscript></form>"
        f"<script>{_SUBMIT_SCRIPT}</script></body></html>"
    )


def authorization_response(redirect_uri: str, params: Sequence[tuple[str, str]], mode: str,
                           issuer: str) -> Triple:
    """``(status, body, headers)`` sending ``params`` (+ ``iss``) to ``redirect_uri``."""
    params = [*params, ("iss", issuer)]
    if mode == "form_post":
        headers = [("Content-Type", "text/html; charset=utf-8"),
                   ("Content-Security-Policy", FORM_POST_CSP),
                   ("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        return 200, _form_post(redirect_uri, params), headers
    # 303: the browser follows with GET whatever method reached us (a POSTed request).
    return 303, "", [("Location", _with_query(redirect_uri, params)),
                     ("Cache-Control", "no-store")]
