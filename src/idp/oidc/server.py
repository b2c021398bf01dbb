"""Nidan's authorization server: the Starlette adapter plus what the provider adds to every
response (RFC 9207 issuer, form_post) and the context the grants work with."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idp.observability import Audit
from idp.oidc._authlib import OAuth2Error
from idp.oidc.adapter import AuthorizationServer, OAuthResponse
from idp.oidc.clients import Client
from idp.oidc.responses import authorization_response, response_mode
from idp.oidc.tokens import TokenStore
from idp.users import Accounts

__all__ = ["GrantContext", "ProviderServer"]


@dataclass
class GrantContext:
    """What the grant classes (instantiated by authlib per request) reach through
    ``self.server.context``."""

    tokens: TokenStore
    accounts: Accounts
    audit: Audit
    code_lifetime_s: int
    refresh_lifetime: Callable[[Client], int]
    access_lifetime: Callable[[Client], int]
    clock: Callable[[], float] = field(default=time.time)


class ProviderServer(AuthorizationServer):
    def __init__(self, issuer: str, context: GrantContext,
                 query_client: Callable[[str], Client | None],
                 save_token: Callable[[dict[str, Any], Any], None],
                 scopes_supported: list[str]) -> None:
        super().__init__(query_client, save_token, scopes_supported=None)
        self.issuer = issuer
        self.context = context
        # Advertised; unknown scopes are dropped per client (OIDC Core 3.1.2.1), not refused.
        self.advertised_scopes = scopes_supported

    def authorization_response(self, redirect_uri: str, params: list[tuple[str, str]],
                               request: Any) -> tuple[int, str, list[tuple[str, str]]]:
        mode = response_mode(request.payload.data.get("response_mode")) or "query"
        return authorization_response(redirect_uri, params, mode, self.issuer)

    def handle_error_response(self, request: Any, error: OAuth2Error) -> OAuthResponse:
        if error.redirect_uri:
            params = [(name, str(value)) for name, value in error.get_body()]
            return self.handle_response(
                *self.authorization_response(error.redirect_uri, params, request)
            )
        status, body, headers = error(None)
        response: OAuthResponse = self.handle_response(status, body, headers)
        return response
