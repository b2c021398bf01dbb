"""The two kinds of bearer token of registration, both 256 random bits and kept only as a
SHA-256 digest (unkeyed is enough for random tokens, as for client secrets in
:mod:`idp.oidc.clients`):

- initial access tokens (RFC 7591 3, ``mode = "initial-token"``), made by the operator with
  ``idp clients registration-token``: found by their digest (the key of their record, so
  looking one up compares nothing secret byte by byte), with an expiry and a number of uses
  counted atomically in the store;
- registration access tokens (RFC 7592), one per registered client, compared in constant
  time with the digest kept in that client's own record: a token opens only its own client's
  configuration endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from idp.oidc.clients import hash_secret
from idp.registration.errors import InvalidToken
from idp.store import Store, dump_record, load_record

__all__ = ["InitialTokens", "bearer", "new_token", "token_matches"]

TOKEN_BYTES: Final = 32
_INITIAL: Final = "registration:iat:"
_INITIAL_USED: Final = "registration:iat-used:"
_MAX_TOKEN_CHARS: Final = 200


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def bearer(authorization: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 2.1), else ``None``."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > _MAX_TOKEN_CHARS:
        return None
    return value


def token_matches(presented: str | None, digest: str) -> bool:
    if presented is None:
        return False
    return hmac.compare_digest(hash_secret(presented).encode(), digest.encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class InitialToken:
    digest: str
    uses: int
    expires_at: float


class InitialTokens:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, *, uses: int, lifetime_s: int, now: float) -> tuple[str, str]:
        """A new token and a short id of it (for the audit trail and the operator)."""
        token = new_token()
        digest = _digest(token)
        record = {"uses": uses, "expires_at": now + lifetime_s, "created_at": now}
        self._store.set(_INITIAL + digest, dump_record(record), ttl=lifetime_s)
        return token, digest[:12]

    def check(self, authorization: str | None, now: float) -> InitialToken:
        """The presented token if it still works (not used up); :class:`InvalidToken` else."""
        token = bearer(authorization)
        if token is None:
            raise InvalidToken("An initial access token is required (Authorization: Bearer).")
        digest = _digest(token)
        record = load_record(self._store.get(_INITIAL + digest))
        if record is None or float(record["expires_at"]) <= now:
            raise InvalidToken("The initial access token is not valid or has expired.")
        found = InitialToken(digest, int(record["uses"]), float(record["expires_at"]))
        used = self._store.get(_INITIAL_USED + digest)
        if used is not None and int(used) >= found.uses:
            raise InvalidToken("The initial access token is used up.")
        return found

    def use(self, token: InitialToken, now: float) -> None:
        """Count one use; of racing registrations only ``uses`` get through."""
        ttl = max(1.0, token.expires_at - now)
        if self._store.incr(_INITIAL_USED + token.digest, ttl=ttl) > token.uses:
            raise InvalidToken("The initial access token is used up.")
