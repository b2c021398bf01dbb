"""The OIDC parameters of an authorization request that authlib leaves to us (OIDC Core
3.1.2.1): ``prompt``, ``max_age``, ``acr_values``, ``claims``, ``id_token_hint``,
``login_hint``, ``ui_locales``, and ``request``/``request_uri`` (not supported, refused with
their own errors). Unknown parameters are ignored; ``display`` and ``claims_locales`` are
accepted and change nothing (one layout; claims have one language).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from idp.oidc._authlib import (
    InvalidRequestError,
    InvalidScopeError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
    UnsupportedResponseTypeError,
)
from idp.oidc.claims import ClaimsRequest
from idp.oidc.config import ACR_2SV, ACR_VALUES
from idp.sessions import SsoSession

__all__ = ["AuthParams", "Force", "validate_params"]

# Parameters that must appear at most once (RFC 6749 3.1: "MUST NOT be included more than
# once"); a repeated one could mean two different things to two readers.
SINGLE: Final = ("response_type", "scope", "state", "nonce", "prompt", "max_age",
                 "response_mode", "ui_locales", "claims_locales", "id_token_hint",
                 "login_hint", "acr_values", "claims", "display")
_MAX_AGE = re.compile(r"^[0-9]{1,10}$")
_MAX_HINT_CHARS: Final = 256


class _UnsupportedResponseType(UnsupportedResponseTypeError):  # type: ignore[misc]
    def get_error_description(self) -> str:
        return "Only response_type=code is offered (no implicit or hybrid flow)."


@dataclass(frozen=True)
class Force:
    """What a sign-in must do: ask the password even with a session; ask a code even on a
    trusted browser (BEHAVIOUR T5)."""

    password: bool
    code: bool


@dataclass(frozen=True)
class AuthParams:
    prompt: frozenset[str]
    max_age: int | None
    need_2sv: bool  # acr_values (or claims acr) asks for urn:nidan:acr:2sv
    claims: ClaimsRequest
    hint_sub: str | None  # the sub of a valid id_token_hint
    login_hint: str | None
    ui_locales: str | None
    now: float

    def login_needed(self, session: SsoSession | None) -> Force | None:
        """What the sign-in must do now, or ``None`` when the session already suffices."""
        # T5: a client asking for a fresh second factor gets one even on a trusted browser.
        fresh_2sv = self.need_2sv or self.max_age is not None
        if session is None or session.acr not in ACR_VALUES:
            return Force(password=False, code=fresh_2sv)
        wanted = self.claims.sub or self.hint_sub
        if wanted is not None and wanted != session.user_id:
            # Someone else is signed in here: never answer for them silently.
            return Force(password=True, code=fresh_2sv)
        if "login" in self.prompt:
            return Force(password=True, code=fresh_2sv)
        if self.max_age is not None and self.now - session.auth_time > self.max_age:
            return Force(password=True, code=True)
        if self.need_2sv and session.acr != ACR_2SV:
            return Force(password=False, code=True)  # step-up: a code, on top of the session
        return None


def validate_params(oauth: Any, id_token_claims: Callable[[str], dict[str, Any] | None],
                    now: float) -> AuthParams:
    """Raise the OAuth error the request deserves, or return what it asks for."""
    data = oauth.payload.data
    datalist = oauth.payload.datalist
    for name in SINGLE:
        if len(datalist.get(name, [])) > 1:
            raise InvalidRequestError(f"Repeated parameter: {name}.")
    if "request" in data:
        raise RequestNotSupportedError("Request objects are not supported.")
    if "request_uri" in data:
        raise RequestURINotSupportedError("request_uri is not supported.")
    response_type = data.get("response_type")
    if not response_type:
        raise InvalidRequestError("Missing response_type.")
    if response_type != "code":
        raise _UnsupportedResponseType("code")
    if not data.get("scope"):
        raise InvalidScopeError("Missing scope (use at least openid).")
    prompt = frozenset(data.get("prompt", "").split())
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequestError("prompt=none can't be combined with other values.")
    max_age: int | None = None
    if "max_age" in data:
        if not _MAX_AGE.match(data["max_age"]):
            raise InvalidRequestError("max_age must be a non-negative integer.")
        max_age = int(data["max_age"])
    try:
        claims = ClaimsRequest.parse(data.get("claims"))
    except ValueError:
        raise InvalidRequestError("Invalid claims parameter.") from None
    acr_values = data.get("acr_values", "").split()
    need_2sv = ACR_2SV in acr_values or ACR_2SV in claims.acr_values
    hint_sub: str | None = None
    if data.get("id_token_hint"):
        hinted = id_token_claims(data["id_token_hint"])
        if hinted is None or not isinstance(hinted.get("sub"), str):
            raise InvalidRequestError("Invalid id_token_hint.")
        hint_sub = hinted["sub"]
    login_hint = data.get("login_hint") or None
    if login_hint is not None and len(login_hint) > _MAX_HINT_CHARS:
        login_hint = None
    return AuthParams(prompt=prompt, max_age=max_age, need_2sv=need_2sv, claims=claims,
                      hint_sub=hint_sub, login_hint=login_hint,
                      ui_locales=data.get("ui_locales") or None, now=now)
