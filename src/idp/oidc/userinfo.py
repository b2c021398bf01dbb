"""The UserInfo endpoint (OIDC Core 5.3) and its bearer-token protection (RFC 6750), which
authlib provides for Flask and Django but not for Starlette.

A token comes in the ``Authorization: Bearer`` header (GET or POST) or as the
``access_token`` form field of a POST (RFC 6750 2.1, 2.2); never both, never in the query.
Errors say what failed in ``WWW-Authenticate`` (RFC 6750 3) and in a JSON body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from idp.oidc.claims import claims_for_scope, user_claims
from idp.oidc.introspection import TokenReader
from idp.users import Accounts

__all__ = ["UserInfo", "UserInfoResult", "bearer_token"]

_JSON: Final = "application/json"


@dataclass(frozen=True)
class UserInfoResult:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    def encoded(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


def _error(realm: str, status: int, error: str | None, description: str) -> UserInfoResult:
    challenge = f'Bearer realm="{realm}"'
    body: dict[str, Any] = {}
    if error is not None:
        # The description is ours, from a fixed set: nothing a client sent is echoed.
        challenge += f', error="{error}", error_description="{description}"'
        body = {"error": error, "error_description": description}
    else:
        body = {"error": "invalid_request", "error_description": description}
    headers = {"WWW-Authenticate": challenge, "Cache-Control": "no-store", "Pragma": "no-cache"}
    return UserInfoResult(status, body, headers)


def bearer_token(authorization: str | None, form: dict[str, str], realm: str
                 ) -> str | UserInfoResult:
    """The bearer token of a request, or the error to answer with."""
    from_header: str | None = None
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return _error(realm, 401, "invalid_request", "Use the Bearer authorization scheme.")
        from_header = value.strip()
    from_form = form.get("access_token")
    if from_header and from_form:
        return _error(realm, 400, "invalid_request", "Send the token one way only.")
    token = from_header or from_form
    if not token:
        # RFC 6750 3.1: no credentials at all -> no error code in the challenge.
        return _error(realm, 401, None, "An access token is required.")
    return token


class UserInfo:
    def __init__(self, issuer: str, reader: TokenReader, accounts: Accounts) -> None:
        self._realm = issuer
        self._reader = reader
        self._accounts = accounts

    def answer(self, authorization: str | None, form: dict[str, str]) -> UserInfoResult:
        """Synchronous (store reads): call it in the thread pool."""
        token = bearer_token(authorization, form, self._realm)
        if isinstance(token, UserInfoResult):
            return token
        found = self._reader.access_token(token)
        if found is None:
            return _error(self._realm, 401, "invalid_token",
                          "The access token is invalid, expired or revoked.")
        record, _claims = found
        if record.user_id is None or "openid" not in record.scope.split():
            return _error(self._realm, 403, "insufficient_scope",
                          "The access token was not issued for OpenID Connect (scope openid).")
        user = self._accounts.get(record.user_id)
        if user is None or not user.active or user.security_epoch != record.epoch:
            return _error(self._realm, 401, "invalid_token",
                          "The access token is invalid, expired or revoked.")
        names = [*claims_for_scope(record.scope), *record.userinfo_claims]
        body = {"sub": user.id, **user_claims(user, names)}
        return UserInfoResult(200, body, {"Content-Type": _JSON, "Cache-Control": "no-store",
                                          "Pragma": "no-cache"})
