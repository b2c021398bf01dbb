"""Signing keys: kept in the Store so every replica signs and publishes the same keys.

One record holds every key (RS256 and ES256), each with its private half encrypted under the
data keys (AES-GCM, :class:`idp.crypto.DataKeys`). A key's life, by the clock:

- ``next``: created by ``idp keys rotate``, published in the JWKS, not yet signing, so
  clients that cache our JWKS know it before they meet a token signed with it;
- ``current``: the newest activated key of its algorithm; signs;
- ``previous``: replaced, still published until every token it signed has expired
  (``retires_at`` = the successor's activation + the longest token lifetime);
- ``retired``: gone from the JWKS and from the record.

Parsing a private key costs ~40 ms (TOOLING), so each process parses a key once and keeps
it; the record is re-read at most every :data:`REFRESH_S` seconds, and the JWKS document is
serialised once per change.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from joserfc import jwk

from idp.crypto import DataKeys
from idp.observability import Audit
from idp.oidc.documents import entity_tag
from idp.store import Store, StoreError, dump_record, load_record

__all__ = ["ALGORITHMS", "KeyInfo", "KeyRing", "SigningKeys"]

ALGORITHMS: Final = ("RS256", "ES256")
# NIST SP 800-57 Part 1 table 2: RSA-2048 gives 112-bit security, acceptable through 2030.
RSA_BITS: Final = 2048
# A replica re-reads the key record this often (default of oidc.key_refresh_s), so a rotation
# made elsewhere (another replica, the CLI) is seen within it. key_prepublish_s should exceed
# it plus the JWKS max-age.
REFRESH_S: Final = 30.0
RECORD_KEY: Final = "oidc-signing-keys"
_MAX_CAS_ATTEMPTS: Final = 50

State = Literal["next", "current", "previous", "retired"]


def _aad(kid: str) -> bytes:
    return f"nidan:oidc-signing-key:{kid}".encode()


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    created_at: float
    activates_at: float
    retires_at: float | None
    public: dict[str, Any]
    private: str  # encrypted JWK (DataKeys token)

    def as_record(self) -> dict[str, Any]:
        return {"kid": self.kid, "alg": self.alg, "created_at": self.created_at,
                "activates_at": self.activates_at, "retires_at": self.retires_at,
                "public": self.public, "private": self.private}


def _new_key(alg: str, data_keys: DataKeys, now: float, activates_at: float) -> KeyInfo:
    key: jwk.RSAKey | jwk.ECKey
    if alg == "RS256":
        key = jwk.RSAKey.generate_key(RSA_BITS, private=True)
    elif alg == "ES256":
        key = jwk.ECKey.generate_key("P-256", private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    kid = key.thumbprint()  # RFC 7638: unique per key, the same on every replica
    public = {**key.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    private = data_keys.encrypt(json.dumps(key.as_dict(private=True)).encode(), _aad(kid))
    return KeyInfo(kid, alg, now, activates_at, None, public, private)


class KeyRing:
    """One snapshot of the record at one moment: which key signs, which are published."""

    def __init__(self, infos: list[KeyInfo], now: float) -> None:
        self.infos = infos
        self.now = now
        self.states = {info.kid: _state(info, infos, now) for info in infos}
        boundaries = [t for info in infos for t in (info.activates_at, info.retires_at)
                      if t is not None and t > now]
        # The snapshot is true until the next activation or retirement.
        self.valid_until = min(boundaries, default=float("inf"))
        self.published = [info for info in infos if self.states[info.kid] != "retired"]
        self.jwks_json = json.dumps(
            {"keys": [info.public for info in self.published]}, separators=(",", ":")
        ).encode()
        self.jwks_etag = entity_tag(self.jwks_json)

    def current(self, alg: str) -> KeyInfo | None:
        for info in self.infos:
            if info.alg == alg and self.states[info.kid] == "current":
                return info
        return None

    def state(self, kid: str) -> State:
        return self.states.get(kid, "retired")


def _state(info: KeyInfo, infos: list[KeyInfo], now: float) -> State:
    if info.retires_at is not None and info.retires_at <= now:
        return "retired"
    if info.activates_at > now:
        return "next"
    active = [other for other in infos if other.alg == info.alg and other.activates_at <= now
              and (other.retires_at is None or other.retires_at > now)]
    newest = max(active, key=lambda other: (other.activates_at, other.created_at))
    return "current" if newest.kid == info.kid else "previous"


class SigningKeys:
    """The provider's signing keys; thread-safe, one instance per process."""

    def __init__(
        self, store: Store, data_keys: DataKeys, audit: Audit, *,
        clock: Callable[[], float] = time.time,
        longest_token_lifetime: Callable[[], float] = lambda: 3600.0,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._refresh_s = refresh_s
        self._store = store
        self._data_keys = data_keys
        self._audit = audit
        self._clock = clock
        self._longest = longest_token_lifetime
        self._lock = threading.Lock()
        self._raw: bytes | None = None
        self._ring: KeyRing | None = None
        self._read_at = float("-inf")
        self._private: dict[str, jwk.Key] = {}
        self._public: dict[str, jwk.Key] = {}

    # -- reading -------------------------------------------------------------------------

    def ring(self) -> KeyRing:
        """The current snapshot; re-reads the store when stale, creates keys on first use."""
        now = self._clock()
        ring = self._ring
        if ring is not None and now - self._read_at < self._refresh_s and now < ring.valid_until:
            return ring
        with self._lock:
            raw = self._store.get(RECORD_KEY)
            if raw is None:
                raw = self._create_first(now)
            if raw != self._raw or self._ring is None or now >= self._ring.valid_until:
                self._ring = KeyRing(self._parse(raw), now)
                self._raw = raw
            self._read_at = now
            return self._ring

    def is_fresh(self) -> bool:
        """True when :meth:`ring` would answer without touching the store (event-loop safe)."""
        now = self._clock()
        ring = self._ring
        return ring is not None and now - self._read_at < self._refresh_s and now < ring.valid_until

    def signing_key(self, alg: str) -> tuple[str, jwk.Key]:
        """``(kid, private key)`` of the current key for ``alg``, parsed once per process."""
        info = self.ring().current(alg)
        if info is None:  # every algorithm always has a current key; a bug otherwise
            raise StoreError(f"no current signing key for {alg}")
        key = self._private.get(info.kid)
        if key is None:
            plain = self._data_keys.decrypt(info.private, _aad(info.kid))
            key = jwk.import_key(json.loads(plain))
            self._private[info.kid] = key
        return info.kid, key

    def public_key_set(self) -> jwk.KeySet:
        """Every published key (next, current, previous): what verifies our tokens."""
        keys = []
        for info in self.ring().published:
            key = self._public.get(info.kid)
            if key is None:
                key = jwk.import_key(info.public)
                self._public[info.kid] = key
            keys.append(key)
        return jwk.KeySet(keys)

    def jwks_json(self) -> bytes:
        return self.ring().jwks_json

    def listing(self) -> list[tuple[KeyInfo, State]]:
        ring = self.ring()
        return [(info, ring.state(info.kid)) for info in ring.infos]

    # -- changing ------------------------------------------------------------------------

    def rotate(self, prepublish_s: float, algorithms: tuple[str, ...] = ALGORITHMS,
               *, actor: str = "cli") -> list[KeyInfo]:
        """Add a new key per algorithm that starts signing ``prepublish_s`` from now; the keys
        it replaces retire once every token they signed has expired. Safe on any replica."""
        for _ in range(_MAX_CAS_ATTEMPTS):
            now = self._clock()
            raw = self._store.get(RECORD_KEY)
            infos = self._parse(raw) if raw is not None else []
            activates_at = now + prepublish_s
            retire_at = activates_at + self._longest()
            kept: list[KeyInfo] = []
            for info in infos:
                if info.retires_at is not None and info.retires_at <= now:
                    continue  # retired: drop it from the record
                if info.alg in algorithms and info.retires_at is None:
                    info = KeyInfo(info.kid, info.alg, info.created_at, info.activates_at,
                                   retire_at, info.public, info.private)
                kept.append(info)
            new = [_new_key(alg, self._data_keys, now, activates_at) for alg in algorithms]
            record = dump_record({"keys": [info.as_record() for info in kept + new]})
            if self._store.cas(RECORD_KEY, raw, record):
                with self._lock:
                    self._ring = None
                for info in new:
                    self._audit.emit("oidc.signing_key_created", key_id=info.kid, alg=info.alg,
                                     activates_at=info.activates_at, actor=actor)
                return new
        raise StoreError("the signing keys changed too often to rotate; try again")

    # -- internals -----------------------------------------------------------------------

    def _create_first(self, now: float) -> bytes:
        infos = [_new_key(alg, self._data_keys, now, now) for alg in ALGORITHMS]
        record = dump_record({"keys": [info.as_record() for info in infos]})
        if self._store.add(RECORD_KEY, record):
            for info in infos:
                self._audit.emit("oidc.signing_key_created", key_id=info.kid, alg=info.alg,
                                 activates_at=now, actor="system")
            return record
        raw = self._store.get(RECORD_KEY)  # another replica won the race: use its keys
        if raw is None:
            raise StoreError("signing keys vanished while being created")
        return raw

    @staticmethod
    def _parse(raw: bytes) -> list[KeyInfo]:
        data = load_record(raw) or {}
        return [KeyInfo(kid=item["kid"], alg=item["alg"], created_at=item["created_at"],
                        activates_at=item["activates_at"], retires_at=item["retires_at"],
                        public=item["public"], private=item["private"])
                for item in data.get("keys", [])]
