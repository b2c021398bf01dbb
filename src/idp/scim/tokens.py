"""Long-lived provisioning tokens: for directories that can be given only one static bearer
token (Entra ID's non-gallery provisioning, many HR systems) and cannot fetch
client_credentials tokens themselves.

A token belongs to one provisioning client and lives until it expires (at most a year) or
the operator revokes it (``idp clients scim-token CLIENT --revoke``). It is 256 random bits
with a recognisable prefix (so a secret scanner can find a leaked one); the store keeps only
its SHA-256, under which it is looked up (a hash of a high-entropy token needs no slow hash,
and the lookup by hash leaks nothing of the token). A token works only while its client
exists and the operator still grants that client ``scim:provision``: withdrawing the scope
or deleting the client stops every token at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Final

from idp.observability import Audit
from idp.store import Store, dump_record, load_record

__all__ = ["MAX_LIFETIME_S", "PREFIX", "ProvisioningTokens", "TokenInfo"]

PREFIX: Final = "nidan_scim_"
MAX_LIFETIME_S: Final = 366 * 24 * 3600
_RECORD: Final = "scim:token:"  # + sha256 hex -> the record
_OF_CLIENT: Final = "scim:tokens:"  # + client id -> set of hashes


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What an operator may see of a token: never the token itself."""

    client_id: str
    fingerprint: str  # the first 12 hex digits of its hash
    created_at: float
    expires_at: float


class ProvisioningTokens:
    def __init__(self, store: Store, audit: Audit) -> None:
        self._store = store
        self._audit = audit

    def issue(self, client_id: str, lifetime_s: int, *, actor: str) -> str:
        """A new token for ``client_id``, shown once to the caller."""
        if not 0 < lifetime_s <= MAX_LIFETIME_S:
            raise ValueError(f"a provisioning token lives 1 s to {MAX_LIFETIME_S} s")
        token = PREFIX + secrets.token_urlsafe(32)
        digest = _digest(token)
        now = time.time()
        record = {"client_id": client_id, "created_at": now, "expires_at": now + lifetime_s}
        self._store.set(_RECORD + digest, dump_record(record), ttl=lifetime_s)
        self._store.sadd(_OF_CLIENT + client_id, digest, ttl=MAX_LIFETIME_S)
        self._audit.emit("scim.token_issued", actor=actor, client_id=client_id,
                         fingerprint=digest[:12], expires_at=record["expires_at"])
        return token

    def client_of(self, token: str) -> str | None:
        """The client a live token belongs to, or ``None``."""
        if not token.startswith(PREFIX):
            return None
        digest = _digest(token)
        record = load_record(self._store.get(_RECORD + digest))
        if record is None or float(record["expires_at"]) <= time.time():
            return None
        return str(record["client_id"])

    def listing(self, client_id: str) -> list[TokenInfo]:
        found = []
        for digest in sorted(self._store.smembers(_OF_CLIENT + client_id)):
            record = load_record(self._store.get(_RECORD + digest))
            if record is not None:
                found.append(TokenInfo(client_id, digest[:12], float(record["created_at"]),
                                       float(record["expires_at"])))
        return found

    def revoke_all(self, client_id: str, *, actor: str) -> int:
        """End every token of ``client_id``; how many were live."""
        ended = 0
        for digest in self._store.smembers(_OF_CLIENT + client_id):
            ended += self._store.delete(_RECORD + digest)
        self._store.delete(_OF_CLIENT + client_id)
        self._audit.emit("scim.tokens_revoked", actor=actor, client_id=client_id, count=ended)
        return ended
