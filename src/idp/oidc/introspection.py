"""Revocation (RFC 7009) and introspection (RFC 7662), as authlib endpoints, and the one way
a token string is turned back into what it stands for."""

from __future__ import annotations

import hmac
from typing import Any, Final

from joserfc import jwt
from joserfc.errors import JoseError

from idp.oidc._authlib import IntrospectionEndpoint, RevocationEndpoint
from idp.oidc.grants import CONFIDENTIAL_AUTH_METHODS, TOKEN_AUTH_METHODS
from idp.oidc.keys import ALGORITHMS, SigningKeys
from idp.oidc.records import AccessTokenRecord, GrantRecord
from idp.oidc.tokens import TokenStore, refresh_hash
from idp.users import Accounts

__all__ = ["Introspection", "Revocation", "TokenReader"]

_MAX_TOKEN_CHARS: Final = 8192


class TokenReader:
    """Access tokens (our RFC 9068 JWTs) and refresh tokens, back to their live records."""

    def __init__(self, issuer: str, keys: SigningKeys, tokens: TokenStore) -> None:
        self._issuer = issuer
        self._keys = keys
        self._tokens = tokens

    def _ours(self, value: str) -> jwt.Token | None:
        """``value`` decoded with our keys and issued by us (its other claims not checked
        yet), or ``None``."""
        if not isinstance(value, str) or not value or len(value) > _MAX_TOKEN_CHARS:
            return None
        try:
            token = jwt.decode(value, self._keys.public_key_set(), algorithms=list(ALGORITHMS))
        except (JoseError, ValueError, TypeError, KeyError):
            return None
        return token if token.claims.get("iss") == self._issuer else None

    def access_token(self, value: str) -> tuple[AccessTokenRecord, dict[str, Any]] | None:
        """The live record and claims of an access token we issued; ``None`` for anything
        else (forged, expired, revoked, an ID token passed off as an access token)."""
        token = self._ours(value)
        # RFC 9068 4: the typ header tells an access token from an ID token.
        if token is None or token.header.get("typ") != "at+jwt":
            return None
        jti = token.claims.get("jti")
        record = self._tokens.access_token(jti) if isinstance(jti, str) else None
        return None if record is None else (record, token.claims)

    def id_token(self, value: str) -> dict[str, Any] | None:
        """The claims of an ID token we issued, whatever its age (an ``id_token_hint`` may
        be expired: RP-Initiated Logout 2, OIDC Core 3.1.2.1); ``None`` otherwise."""
        token = self._ours(value)
        if token is None or token.header.get("typ", "JWT") != "JWT":
            return None
        return dict(token.claims)

    def refresh_token(self, value: str) -> GrantRecord | None:
        if not isinstance(value, str) or len(value) > _MAX_TOKEN_CHARS:
            return None
        grant_id, sep, _secret = value.partition(".")
        grant = self._tokens.grant(grant_id) if sep and grant_id else None
        if grant is None or grant.refresh_hash is None:
            return None
        if not hmac.compare_digest(refresh_hash(value).encode(), grant.refresh_hash.encode()):
            return None
        return grant

    def find(self, value: str, hint: str | None) -> AccessTokenRecord | GrantRecord | None:
        """RFC 7009 2.1 / RFC 7662 2.1: the hint only orders the search."""
        lookups = [self._access, self.refresh_token]
        if hint == "refresh_token":
            lookups.reverse()
        for lookup in lookups:
            found = lookup(value)
            if found is not None:
                return found
        return None

    def _access(self, value: str) -> AccessTokenRecord | None:
        found = self.access_token(value) if value.count(".") == 2 else None
        return None if found is None else found[0]


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def __init__(self, reader: TokenReader, tokens: TokenStore) -> None:
        super().__init__()
        self._reader = reader
        self._tokens = tokens

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return self._reader.find(token_string, token_type_hint)

    def revoke_token(self, token: AccessTokenRecord | GrantRecord, request: Any) -> None:
        if isinstance(token, GrantRecord):
            # RFC 7009 2.1: revoking a refresh token also ends the access tokens of its grant.
            self._tokens.revoke_grant(token.grant_id, reason="revoked", user_id=token.user_id,
                                      client_id=token.client_id)
        else:
            self._tokens.revoke_access_token(token.jti)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def __init__(self, issuer: str, reader: TokenReader, accounts: Accounts) -> None:
        super().__init__()
        self._issuer = issuer
        self._reader = reader
        self._accounts = accounts

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        token = self._reader.find(token_string, token_type_hint)
        if token is None or token.user_id is None:
            return token
        # A person's token is active only while the account is, under the security epoch it
        # was issued in (C4): as /userinfo and /token answer, so does a resource server.
        user = self._accounts.get(token.user_id)
        if user is None or not user.active or user.security_epoch != token.epoch:
            return None
        return token

    def check_permission(self, token: AccessTokenRecord | GrantRecord, client: Any,
                         request: Any) -> bool:
        # Its own tokens, or any token for a resource server registered to introspect.
        return bool(token.client_id == client.get_client_id() or client.config.introspection)

    def introspect_token(self, token: AccessTokenRecord | GrantRecord) -> dict[str, Any]:
        if isinstance(token, GrantRecord):
            return {"active": True, "token_type": "refresh_token", "scope": token.scope,
                    "client_id": token.client_id, "sub": token.user_id, "iss": self._issuer,
                    "iat": int(token.created_at), "exp": int(token.expires_at)}
        payload: dict[str, Any] = {
            "active": True, "token_type": "Bearer", "scope": token.scope,
            "client_id": token.client_id, "sub": token.user_id or token.client_id,
            "aud": token.client_id, "iss": self._issuer, "iat": token.issued_at,
            "exp": token.expires_at, "jti": token.jti,
        }
        if token.auth is not None:
            payload.update(auth_time=token.auth.auth_time, acr=token.auth.acr)
        return payload
