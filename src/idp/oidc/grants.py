"""The grant types we offer, as authlib grant classes: authorization code (with PKCE S256),
refresh token (rotated, reuse revokes the grant), client credentials. No implicit, hybrid or
password grant exists here at all.

authlib instantiates a grant per request; shared state is reached through
``self.server.context`` (:class:`idp.oidc.server.GrantContext`).
"""

from __future__ import annotations

import re
import secrets
from typing import Any, ClassVar, Final

from idp.oidc._authlib import (
    AccessDeniedError,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    CodeChallenge,
    InvalidRequestError,
    InvalidScopeError,
    RefreshTokenGrant,
)
from idp.oidc.records import Approval, CodeRecord, GrantRecord, Subject
from idp.oidc.server import GrantContext
from idp.oidc.tokens import new_code
from idp.users import User

__all__ = ["TOKEN_AUTH_METHODS", "CodeGrant", "PkceS256", "RefreshGrant", "ServiceGrant"]

TOKEN_AUTH_METHODS: Final = ["client_secret_basic", "client_secret_post", "private_key_jwt",
                             "none"]
CONFIDENTIAL_AUTH_METHODS: Final = TOKEN_AUTH_METHODS[:3]
# RFC 7636 4.2: 43-128 unreserved characters.
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
GRANT_ID_BYTES: Final = 16


def _context(grant: Any) -> GrantContext:
    context: GrantContext = grant.server.context
    return context


def _live_user(context: GrantContext, user_id: str, epoch: int) -> User | None:
    """The person, if their account is active and their second factors unchanged since the
    sign-in (the promise: a reset second factor ends every grant)."""
    user = context.accounts.get(user_id)
    if user is None or not user.active or user.security_epoch != epoch:
        return None
    return user


class PkceS256(CodeChallenge):  # type: ignore[misc]
    """RFC 7636 with S256 only (RFC 9700 2.1.1: plain is refused), required per client."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        request = grant.request
        data = request.payload.data
        datalist = request.payload.datalist
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        if len(datalist.get("code_challenge", [])) > 1 or len(
            datalist.get("code_challenge_method", [])
        ) > 1:
            raise InvalidRequestError("Repeated PKCE parameter.")
        if not challenge:
            if method:
                raise InvalidRequestError("code_challenge_method without code_challenge.")
            if request.client.config.require_pkce:
                raise InvalidRequestError(
                    "PKCE is required: send code_challenge with code_challenge_method=S256."
                )
            return
        if not _CHALLENGE.match(challenge):
            raise InvalidRequestError("Invalid code_challenge.")
        if method != "S256":
            raise InvalidRequestError("code_challenge_method must be S256 (plain is refused).")


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def generate_authorization_code(self) -> str:
        return new_code()

    def create_authorization_response(self, redirect_uri: str, grant_user: Approval | None
                                      ) -> tuple[int, str, list[tuple[str, str]]]:
        if not grant_user:
            raise AccessDeniedError(redirect_uri=redirect_uri)
        self.request.user = grant_user
        code = self.generate_authorization_code()
        self.save_authorization_code(code, self.request)
        params = [("code", code)]
        state = self.request.payload.state
        if state:
            params.append(("state", state))
        result: tuple[int, str, list[tuple[str, str]]] = self.server.authorization_response(
            redirect_uri, params, self.request
        )
        return result

    def save_authorization_code(self, code: str, request: Any) -> None:
        context = _context(self)
        approval: Approval = request.user
        data = request.payload.data
        record = CodeRecord(
            grant_id=secrets.token_urlsafe(GRANT_ID_BYTES),
            client_id=request.client.client_id,
            user_id=approval.user.id,
            epoch=approval.user.security_epoch,
            redirect_uri=request.payload.redirect_uri,
            scope=approval.scope,
            nonce=data.get("nonce") or None,
            code_challenge=data.get("code_challenge") or None,
            code_challenge_method=data.get("code_challenge_method") or None,
            auth=approval.auth,
            claims=approval.claims,
            offline=approval.offline,
            expires_at=context.clock() + context.code_lifetime_s,
        )
        context.tokens.save_code(code, record)

    def query_authorization_code(self, code: str, client: Any) -> CodeRecord | None:
        if not isinstance(code, str) or not code or len(code) > 256:
            return None
        return _context(self).tokens.consume_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Nothing to do: the code was taken from the store when it was redeemed."""

    def authenticate_user(self, authorization_code: CodeRecord) -> Subject | None:
        context = _context(self)
        code = authorization_code
        user = _live_user(context, code.user_id, code.epoch)
        if user is None:
            return None
        client = self.request.client
        lifetime = (context.refresh_lifetime(client) if client.check_grant_type("refresh_token")
                    else context.access_lifetime(client) + 60)
        return Subject(user=user, grant_id=code.grant_id, auth=code.auth, claims=code.claims,
                       offline=code.offline, epoch=code.epoch, nonce=code.nonce,
                       expires_at=context.clock() + lifetime)


class RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation (RFC 9700 4.14.2)

    def authenticate_refresh_token(self, refresh_token: str) -> GrantRecord | None:
        context = _context(self)
        if not isinstance(refresh_token, str):
            return None
        grant = context.tokens.find_refresh(refresh_token)
        if grant is None:
            return None
        if _live_user(context, grant.user_id, grant.epoch) is None:
            # The person's second factors were reset (or the account disabled) since the
            # sign-in: this grant must never yield another token.
            context.tokens.revoke_grant(grant.grant_id, reason="account_changed",
                                        user_id=grant.user_id, client_id=grant.client_id)
            return None
        return grant

    def authenticate_user(self, refresh_token: GrantRecord) -> Subject | None:
        context = _context(self)
        grant = refresh_token
        user = _live_user(context, grant.user_id, grant.epoch)
        if user is None:
            return None
        return Subject(user=user, grant_id=grant.grant_id, auth=grant.auth, claims=grant.claims,
                       offline=grant.offline, epoch=grant.epoch, expires_at=grant.expires_at)

    def revoke_old_credential(self, refresh_token: GrantRecord) -> None:
        """Nothing more to do: saving the new token replaced the old one atomically."""


class ServiceGrant(ClientCredentialsGrant):  # type: ignore[misc]
    """client_credentials for service clients: no person, so no ID token or refresh."""

    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        requested = (self.request.payload.scope or "").split()
        allowed = set(self.request.client.get_allowed_scope(" ".join(requested)).split())
        if any(scope not in allowed for scope in requested):
            raise InvalidScopeError()
        # A person's scopes mean nothing without a person.
        self.request.scope = " ".join(
            s for s in requested if s not in ("openid", "offline_access")
        )

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token: dict[str, Any] = self.generate_token(scope=self.request.scope,
                                                    include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
