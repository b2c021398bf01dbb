"""Who may call /admin/api/v1: a client of Nidan with a client_credentials access token that
carries the route's admin scope, granted by the operator (``idp clients add --admin-scope``).

The token is read exactly as /userinfo reads one (:func:`idp.oidc.userinfo.bearer_token`, then
:meth:`idp.oidc.introspection.TokenReader.access_token`: signature, ``typ``, issuer, the live
record, expiry, revocation). A person's token never passes, whatever its scope; and a scope the
operator has since withdrawn from the client stops working at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from idp.admin.problems import problem
from idp.oidc.userinfo import UserInfoResult, bearer_token
from idp.services import Services

__all__ = ["Caller", "Unauthorized", "authenticate", "request_id_of"]

_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class Caller:
    client_id: str

    @property
    def actor(self) -> str:
        return f"client:{self.client_id}"


class Unauthorized(Exception):
    """The call is refused (401 or 403): ``response`` is the problem to answer with;
    ``client_id`` names the client when the token was a valid one lacking the scope."""

    def __init__(self, response: Response, client_id: str | None = None) -> None:
        self.response = response
        self.client_id = client_id


def _challenge(realm: str, error: str, description: str) -> dict[str, str]:
    return {"WWW-Authenticate":
            f'Bearer realm="{realm}", error="{error}", error_description="{description}"'}


def authenticate(services: Services, authorization: str | None, scope: str) -> Caller:
    """The calling client; raises :class:`Unauthorized`. Synchronous (store reads)."""
    realm = services.oidc.issuer
    token = bearer_token(authorization, {}, realm)
    if isinstance(token, UserInfoResult):
        raise Unauthorized(problem(token.status, str(token.body["error_description"]),
                                   kind="unauthorized", headers=token.headers))
    found = services.oidc.reader.access_token(token)
    if found is None:
        description = "The access token is invalid, expired or revoked."
        raise Unauthorized(problem(401, description, kind="invalid-token",
                                   headers=_challenge(realm, "invalid_token", description)))
    record, _claims = found
    client = services.oidc.clients.get(record.client_id)
    if record.user_id is not None or client is None:
        raise Unauthorized(problem(
            401, "Only a client's own (client_credentials) token is accepted here.",
            kind="invalid-token",
            headers=_challenge(realm, "invalid_token", "Not a client_credentials token.")))
    if scope not in record.scope.split() or scope not in client.config.admin_scopes:
        description = f"This call needs the scope {scope}."
        raise Unauthorized(problem(403, description, kind="insufficient-scope",
                                   headers=_challenge(realm, "insufficient_scope",
                                                      description)), record.client_id)
    return Caller(record.client_id)


def request_id_of(request: Request[Any]) -> str | None:
    """The caller's ``X-Request-Id`` if it is a plain identifier (never echoed otherwise)."""
    value = request.headers.get("x-request-id")
    return value if value is not None and _REQUEST_ID.match(value) else None
