"""Cross-site request forgery protection (OWASP CSRF Prevention Cheat Sheet).

Primary defence: a synchronizer token bound to a pre-session cookie. The cookie
``__Host-nidan_csrf`` holds a random value, signed with ``[secrets] cookie_keys`` (newest
signs, all verify), HttpOnly so no script can read it. A form carries ``csrf_token`` =
HMAC-SHA256 keyed by that secret value over the form's purpose, so a token is worthless
without the cookie it was made for, and a token for one form can't be replayed on another.

Defence in depth, for state-changing methods: the browser's own account of where the request
came from must not contradict our origin (the issuer's): ``Sec-Fetch-Site`` must not be
``cross-site``/``same-site``, and ``Origin`` (or, when absent, ``Referer``) must match.
``Origin: null`` counts as absent, not as a mismatch: our pages send ``Referrer-Policy:
no-referrer``, under which browsers serialize the origin of our own form posts as ``null``
(Fetch, "append a request Origin header"). A null origin only earns the right to be asked
for the token; it never passes on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.settings import Settings
from idp.web.i18n import N_

__all__ = ["CSRF_FIELD", "Csrf", "CsrfCookie", "CsrfError"]

CSRF_FIELD: Final = "csrf_token"
# RFC 9110 9.2.1: methods that must not change state are not checked for origin.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# 256 bits of randomness in the cookie (OWASP: a CSPRNG value of at least 128 bits).
_VALUE_BYTES: Final = 32
_SALT: Final = "nidan.csrf.v1"
_DEFAULT_PURPOSE: Final = "form"
# A token is 43 characters; anything far longer is not ours and is not worth hashing.
_MAX_TOKEN_CHARS: Final = 256
# Cookie prefixes (RFC 6265bis 4.1.3.2): __Host- pins the cookie to our host, Secure, Path=/,
# so a sibling subdomain can't plant one. Plain http can't carry Secure, so dev drops it.
_SECURE_NAME: Final = "__Host-nidan_csrf"
_PLAIN_NAME: Final = "nidan_csrf"
_STATE_VALUE: Final = "nidan_csrf_value"
_STATE_COOKIE: Final = "nidan_csrf_cookie"


class CsrfError(Exception):
    """The request can't be shown to come from our own page. Shown as a friendly 403
    ("the page expired") in the person's language; ``reason`` is for logs and tests only.
    """

    status_code: ClassVar[int] = 403
    error_code: ClassVar[str] = "csrf_failed"
    title: ClassVar[str] = N_("This page has expired")
    message: ClassVar[str] = N_("The page expired. Please go back, reload it and try again.")
    REASONS: ClassVar[frozenset[str]] = frozenset(
        {"cross_origin", "cookie_missing", "cookie_invalid", "token_missing", "token_invalid"}
    )

    def __init__(self, reason: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown CSRF failure reason {reason!r}")
        self.reason = reason
        super().__init__(f"CSRF check failed: {reason}")


@dataclass(frozen=True)
class CsrfCookie:
    """A cookie to set on the response that carries the form."""

    name: str
    value: str
    secure: bool

    def set_on(self, response: Response) -> None:
        # A session cookie: the pre-session ends with the browser session; signed-in state
        # lives elsewhere. SameSite=Lax keeps it off cross-site posts as a further layer.
        response.set_cookie(
            self.name, self.value, path="/", secure=self.secure, httponly=True, samesite="lax"
        )


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, lower-case, default port
    dropped; None for anything else (including ``null``)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets in an origin
        host = f"[{host}]"
    default_port = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" if port in (None, default_port) else f"{scheme}://{host}:{port}"


class Csrf:
    """Issue and verify CSRF tokens. One instance per application, built from settings."""

    def __init__(self, settings: Settings) -> None:
        keys = [key.get_secret_value() for key in settings.secrets.cookie_keys]
        if not keys:
            raise ValueError(
                "secrets.cookie_keys is empty: CSRF cookies need a signing key "
                "(set secrets.cookie_keys or secrets.cookie_keys_file)"
            )
        # Settings list the newest key first; itsdangerous signs with the last of its list.
        self._serializer = URLSafeSerializer(list(reversed(keys)), salt=_SALT)
        self.secure = settings.server.secure
        self.cookie_name = _SECURE_NAME if self.secure else _PLAIN_NAME
        origin = _origin_of(settings.server.issuer)
        if origin is None:  # settings validate the issuer; this is a programming error
            raise ValueError("server.issuer is not an http(s) URL")
        self.origin = origin

    # -- issuing ------------------------------------------------------------------------

    def issue(
        self, request: Request[Any], purpose: str = _DEFAULT_PURPOSE
    ) -> tuple[str, CsrfCookie | None]:
        """A token for a form with ``purpose``, and the cookie to set with the page, or None
        when the request already carries a valid one. Within one request every call uses the
        same secret (and returns the same cookie when a new one is needed)."""
        value = getattr(request.state, _STATE_VALUE, None)
        cookie: CsrfCookie | None = getattr(request.state, _STATE_COOKIE, None)
        if value is None:
            value = self._cookie_value(request)
            if value is None:
                value = secrets.token_urlsafe(_VALUE_BYTES)
                cookie = CsrfCookie(self.cookie_name, self._serializer.dumps(value), self.secure)
            setattr(request.state, _STATE_VALUE, value)
            setattr(request.state, _STATE_COOKIE, cookie)
        return self._token(value, purpose), cookie

    def token(self, request: Request[Any], purpose: str = _DEFAULT_PURPOSE) -> str:
        """Like :meth:`issue`, leaving the cookie for :meth:`pending_cookie` to hand out."""
        return self.issue(request, purpose)[0]

    def pending_cookie(self, request: Request[Any]) -> CsrfCookie | None:
        """The cookie an earlier :meth:`issue` in this request created, if any."""
        cookie: CsrfCookie | None = getattr(request.state, _STATE_COOKIE, None)
        return cookie

    # -- verifying ----------------------------------------------------------------------

    def verify(
        self, request: Request[Any], form: Mapping[str, Any], purpose: str = _DEFAULT_PURPOSE
    ) -> None:
        """Raise :class:`CsrfError` unless ``form`` (the submitted fields) carries a token
        for ``purpose`` bound to this request's CSRF cookie, and the request's origin headers
        don't point elsewhere. Returns None when all is well."""
        self.check_origin(request)
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            raise CsrfError("cookie_missing")
        value = self._cookie_value(request)
        if value is None:
            raise CsrfError("cookie_invalid")
        submitted = form.get(CSRF_FIELD)
        if not isinstance(submitted, str) or not submitted:
            raise CsrfError("token_missing")
        expected = self._token(value, purpose)
        # Our tokens are short ASCII; compare_digest refuses non-ASCII str, so screen first.
        if (
            len(submitted) > _MAX_TOKEN_CHARS
            or not submitted.isascii()
            or not hmac.compare_digest(expected.encode(), submitted.encode())
        ):
            raise CsrfError("token_invalid")

    async def protect(self, request: Request[Any], purpose: str = _DEFAULT_PURPOSE) -> FormData:
        """Starlette helper for a POST handler: read the form, verify it, return it.

        ``form = await csrf.protect(request, "login")`` raises :class:`CsrfError` (a 403
        page via :func:`idp.web.errors.install_error_handlers`) before any work is done.
        """
        form = await request.form()
        self.verify(request, form, purpose)
        return form

    def check_origin(self, request: Request[Any]) -> None:
        """Refuse a state-changing request whose Fetch metadata, ``Origin`` or ``Referer``
        names another origin (OWASP: "Verifying Origin With Standard Headers")."""
        if request.method in SAFE_METHODS:
            return
        headers = request.headers
        if headers.get("sec-fetch-site", "").strip().lower() in ("cross-site", "same-site"):
            raise CsrfError("cross_origin")
        origin = headers.get("origin")
        if origin is not None and origin.strip().lower() != "null":
            if _origin_of(origin) != self.origin:
                raise CsrfError("cross_origin")
            return
        referer = headers.get("referer")
        if referer is not None and _origin_of(referer) != self.origin:
            raise CsrfError("cross_origin")

    # -- internals ----------------------------------------------------------------------

    def _cookie_value(self, request: Request[Any]) -> str | None:
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return None
        try:
            value = self._serializer.loads(raw)
        except BadSignature:
            return None
        return value if isinstance(value, str) and value else None

    @staticmethod
    def _token(value: str, purpose: str) -> str:
        digest = hmac.new(value.encode(), f"nidan-csrf:{purpose}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
