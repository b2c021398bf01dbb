"""Codes, grants and tokens in the Store, and the token generator authlib calls.

- Authorization codes (OIDC Core 3.1.3.2, RFC 6749 4.1.2): 256 random bits, stored under
  their SHA-256, taken atomically (single use on any replica), valid
  ``lifetimes.authorization_code_s``. A used code leaves a tombstone naming its grant: a
  second use revokes every token issued from the first (RFC 6749 4.1.2, 10.5).
- Refresh tokens: ``<grant id>.<256 random bits>``, only the SHA-256 of the secret part
  stored, on the grant. Each use rotates it (compare-and-set); presenting a superseded one
  is reuse and revokes the whole grant (RFC 9700 4.14.2).
- Access tokens: RFC 9068 JWTs (``typ: at+jwt``), plus a short record by ``jti`` so a
  revoked grant or token stops working at once (userinfo, introspection).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

from joserfc import jwt

from idp.observability import Audit
from idp.oidc.keys import SigningKeys
from idp.oidc.records import AccessTokenRecord, CodeRecord, GrantRecord, Subject
from idp.store import Store, dump_record, load_record

__all__ = ["ACCESS_TOKEN_ALG", "TokenIssuer", "TokenStore", "new_code", "refresh_hash",
           "unverified_claims"]

# RFC 9068 4: resource servers MUST support RS256; every access token uses it.
ACCESS_TOKEN_ALG: Final = "RS256"  # noqa: S105 - an algorithm name
# RFC 6749 10.10 asks for at least 128 bits; 256 costs nothing more.
CODE_BYTES: Final = 32
REFRESH_BYTES: Final = 32
# A reused code is recognised (and its grant revoked) for this long after its first use.
CODE_TOMBSTONE_S: Final = 24 * 3600

_CODE = "oidc-code:"
_USED = "oidc-code-used:"
_GRANT = "oidc-grant:"
_REVOKED = "oidc-grant-revoked:"
_AT = "oidc-at:"
_SID = "oidc-sid-grants:"


def _digest(value: str) -> str:
    raw = hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT we have just signed ourselves (no verification: never use on
    input from outside)."""
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


class TokenStore:
    """Codes, grants and access-token records. Every operation is one Store call or a few."""

    def __init__(self, store: Store, audit: Audit, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock

    # -- codes ---------------------------------------------------------------------------

    def save_code(self, code: str, record: CodeRecord) -> None:
        ttl = max(1.0, record.expires_at - self._clock()) + 5.0
        self._store.set(_CODE + _digest(code), dump_record(record.to_record()), ttl=ttl)

    def consume_code(self, code: str, client_id: str) -> CodeRecord | None:
        """The code's record if ``client_id`` may redeem it now; ``None`` otherwise. A second
        use of a code revokes the grant made from its first use."""
        key = _digest(code)
        data = load_record(self._store.get(_CODE + key))
        if data is None:
            used = self._store.get(_USED + key)
            if used is not None:
                self.revoke_grant(used.decode(), reason="code_reused")
            return None
        record = CodeRecord.from_record(data)
        if record.client_id != client_id:
            return None  # not this client's: leave it for its owner
        if self._store.take(_CODE + key) is None:  # another request redeemed it just now
            self.revoke_grant(record.grant_id, reason="code_reused")
            return None
        self._store.set(_USED + key, record.grant_id.encode(), ttl=CODE_TOMBSTONE_S)
        if record.expires_at <= self._clock():
            return None
        return record

    # -- grants --------------------------------------------------------------------------

    def create_grant(self, grant: GrantRecord) -> bool:
        """Store a new grant; ``False`` if it was revoked before it existed (its code was
        reused while it was being redeemed)."""
        # One check of the revocation mark, after the grant is in place: a reuse of the code
        # that revoked it before or while it was written is seen either way.
        ttl = max(1.0, grant.expires_at - self._clock())
        if not self._store.add(_GRANT + grant.grant_id, dump_record(grant.to_record()), ttl=ttl):
            return False
        self._store.sadd(_SID + grant.auth.sid, grant.grant_id, ttl=ttl)
        if self._store.get(_REVOKED + grant.grant_id) is not None:
            self._store.delete(_GRANT + grant.grant_id)
            return False
        return True

    def grant(self, grant_id: str) -> GrantRecord | None:
        raw = self._store.get(_GRANT + grant_id)
        data = load_record(raw)
        if raw is None or data is None:
            return None
        grant = GrantRecord.from_record(data, raw)
        return grant if grant.expires_at > self._clock() else None

    def find_refresh(self, token: str) -> GrantRecord | None:
        """The grant ``token`` is the live refresh token of; a superseded token of a live
        grant is reuse: the grant is revoked and ``None`` returned."""
        grant_id, sep, secret = token.partition(".")
        if not sep or not grant_id or not secret or len(token) > 256:
            return None
        grant = self.grant(grant_id)
        if grant is None or grant.refresh_hash is None:
            return None
        if not hmac.compare_digest(_digest(secret).encode(), grant.refresh_hash.encode()):
            self.revoke_grant(grant_id, reason="refresh_reused", user_id=grant.user_id,
                              client_id=grant.client_id)
            return None
        return grant

    def rotate_refresh(self, grant: GrantRecord, new_token: str) -> bool:
        """Replace the grant's refresh token, only if nobody else did first."""
        updated = replace(grant, refresh_hash=refresh_hash(new_token), raw=b"")
        ttl = max(1.0, grant.expires_at - self._clock())
        return self._store.cas(_GRANT + grant.grant_id, grant.raw,
                               dump_record(updated.to_record()), ttl=ttl)

    def revoke_grant(self, grant_id: str, *, reason: str, user_id: str | None = None,
                     client_id: str | None = None) -> None:
        """End a grant and so every token issued under it, on every replica at once."""
        self._store.set(_REVOKED + grant_id, reason.encode(), ttl=CODE_TOMBSTONE_S)
        existed = self._store.delete(_GRANT + grant_id)
        self._audit.emit("oidc.grant_revoked", user_id=user_id, client_id=client_id,
                         reason=reason, existed=existed)

    def revoke_session_grants(self, sid: str) -> int:
        """On logout: revoke the session's grants, except offline ones (OIDC Back-Channel
        Logout 2.7: refresh tokens without offline_access SHOULD be revoked)."""
        count = 0
        for grant_id in self._store.smembers(_SID + sid):
            grant = self.grant(grant_id)
            if grant is not None and not grant.offline:
                self.revoke_grant(grant_id, reason="logout", user_id=grant.user_id,
                                  client_id=grant.client_id)
                count += 1
        self._store.delete(_SID + sid)
        return count

    # -- access tokens -------------------------------------------------------------------

    def save_access_token(self, record: AccessTokenRecord) -> None:
        ttl = max(1.0, record.expires_at - self._clock()) + 60.0
        self._store.set(_AT + record.jti, dump_record(record.to_record()), ttl=ttl)

    def access_token(self, jti: str) -> AccessTokenRecord | None:
        """The record of a live access token: unexpired, not revoked, its grant alive."""
        if not isinstance(jti, str) or not jti or len(jti) > 128:
            return None
        data = load_record(self._store.get(_AT + jti))
        if data is None:
            return None
        record = AccessTokenRecord.from_record(data)
        if record.expires_at <= self._clock():
            return None
        if record.grant_id is not None and self.grant(record.grant_id) is None:
            return None
        return record

    def revoke_access_token(self, jti: str) -> None:
        self._store.delete(_AT + jti)


def refresh_hash(token: str) -> str:
    """What a grant stores of its refresh token: the SHA-256 of the secret part."""
    return _digest(token.partition(".")[2])


class TokenIssuer:
    """authlib's token generator (``register_token_generator("default", ...)``)."""

    def __init__(self, issuer: str, keys: SigningKeys, *, clock: Callable[[], float],
                 access_token_lifetime: Callable[[Any], int]) -> None:
        self._issuer = issuer
        self._keys = keys
        self._clock = clock
        self._lifetime = access_token_lifetime

    def __call__(self, grant_type: str, client: Any, user: Subject | None = None,
                 scope: str | None = None, expires_in: int | None = None,
                 include_refresh_token: bool = True) -> dict[str, Any]:
        now = int(self._clock())
        lifetime = expires_in or self._lifetime(client)
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": user.user.id if user is not None else client.get_client_id(),
            "aud": client.get_client_id(),
            "client_id": client.get_client_id(),
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
            "scope": scope or "",
        }
        if user is not None:  # RFC 9068 2.2.1: the authentication, as in the ID token
            claims.update(auth_time=user.auth.auth_time, acr=user.auth.acr,
                          amr=list(user.auth.amr))
        kid, key = self._keys.signing_key(ACCESS_TOKEN_ALG)
        header = {"alg": ACCESS_TOKEN_ALG, "kid": kid, "typ": "at+jwt"}
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": jwt.encode(header, claims, key, [ACCESS_TOKEN_ALG]),
            "expires_in": lifetime,
            "scope": scope or "",
        }
        if include_refresh_token and user is not None:
            token["refresh_token"] = f"{user.grant_id}.{secrets.token_urlsafe(REFRESH_BYTES)}"
        return token
