"""Who may call /scim/v2: a provisioning client of Nidan with a client_credentials access token
that carries ``scim:provision``, granted by the operator the way admin scopes are
(``idp clients add ... --grant-type client_credentials --admin-scope scim:provision``).

The token is read exactly as /userinfo and /admin/api/v1 read one
(:func:`idp.oidc.userinfo.bearer_token`, then
:meth:`idp.oidc.introspection.TokenReader.access_token`: signature, ``typ``, issuer, the live
record, expiry, revocation). A person's token never passes, whatever its scope; a scope the
operator has since withdrawn from the client stops working at once. The client's id is what
scopes ``externalId`` (:mod:`idp.scim.directory`).

A directory that can hold only one static token gets a long-lived provisioning token
instead (:mod:`idp.scim.tokens`); it passes while its client still has ``scim:provision``.
"""

from __future__ import annotations

from typing import Final, Protocol

from scim2_models import ForbiddenException, UnauthorizedException

from idp.observability import Audit
from idp.oidc.provider import OidcProvider
from idp.oidc.userinfo import UserInfoResult, bearer_token
from idp.scim.tokens import PREFIX as TOKEN_PREFIX
from idp.scim.tokens import ProvisioningTokens
from idp.store import Store

__all__ = ["SCOPE", "Refused", "authenticate"]

SCOPE: Final = "scim:provision"


class _HasOidc(Protocol):
    @property
    def oidc(self) -> OidcProvider: ...

    @property
    def store(self) -> Store: ...

    @property
    def audit(self) -> Audit: ...


class Refused(Exception):
    """A 401 or 403 SCIM error, with the ``WWW-Authenticate`` challenge to send with it."""

    def __init__(self, error: UnauthorizedException | ForbiddenException, challenge: str
                 ) -> None:
        super().__init__(error.detail)
        self.error = error
        self.challenge = challenge


def _challenge(realm: str, error: str, description: str) -> str:
    return f'Bearer realm="{realm}", error="{error}", error_description="{description}"'


def authenticate(services: _HasOidc, authorization: str | None) -> str:
    """The calling client's id, or :class:`Refused`. Synchronous (store reads)."""
    realm = services.oidc.issuer
    token = bearer_token(authorization, {}, realm)
    if isinstance(token, UserInfoResult):
        description = str(token.body["error_description"])
        raise Refused(UnauthorizedException(detail=description),
                      token.headers.get("WWW-Authenticate", f'Bearer realm="{realm}"'))
    if token.startswith(TOKEN_PREFIX):
        return _provisioning_client(services, token)
    found = services.oidc.reader.access_token(token)
    if found is None:
        description = "The access token is invalid, expired or revoked."
        raise Refused(UnauthorizedException(detail=description),
                      _challenge(realm, "invalid_token", description))
    record, _claims = found
    client = services.oidc.clients.get(record.client_id)
    if record.user_id is not None or client is None:
        description = "Only a client's own (client_credentials) token is accepted here."
        raise Refused(UnauthorizedException(detail=description),
                      _challenge(realm, "invalid_token", "Not a client_credentials token."))
    if SCOPE not in record.scope.split() or SCOPE not in client.config.admin_scopes:
        _lacks_scope(realm)
    return record.client_id


def _lacks_scope(realm: str) -> None:
    description = f"This call needs the scope {SCOPE}."
    raise Refused(ForbiddenException(detail=description),
                  _challenge(realm, "insufficient_scope", description))


def _provisioning_client(services: _HasOidc, token: str) -> str:
    realm = services.oidc.issuer
    client_id = ProvisioningTokens(services.store, services.audit).client_of(token)
    client = None if client_id is None else services.oidc.clients.get(client_id)
    if client_id is None or client is None:
        description = "The provisioning token is invalid, expired or revoked."
        raise Refused(UnauthorizedException(detail=description),
                      _challenge(realm, "invalid_token", description))
    if SCOPE not in client.config.admin_scopes:
        _lacks_scope(realm)
    return client_id
