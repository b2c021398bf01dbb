"""Per-person credential records, with secrets and phone numbers encrypted at rest.

One record per person (``methods:cred:<user id>``) holds both roles, so every change is one
compare-and-set: two replicas changing methods at once cannot leave fewer than two
(BEHAVIOUR C2). Each credential's secret and phone number are sealed together with
AES-256-GCM (:mod:`idp.crypto`), bound to the user id and credential id.

Phone numbers are also kept as a keyed hash (HMAC-SHA256), so the same number in both roles
(E4) and per-number send budgets can be checked without decrypting. A phone number has
little entropy (about 10**10 values), so an unkeyed hash would be reversible by enumeration;
the key is random, generated once per deployment and stored in the Store encrypted under
the data keys, so it survives data-key rotation and a Store dump alone reveals nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from idp.crypto import DataKeys
from idp.methods.base import Credential, Key
from idp.methods.phone import parse_phone
from idp.store import Store, StoreError, dump_record, load_record

__all__ = [
    "CRED_PREFIX",
    "ENROLL_PREFIX",
    "ROLES",
    "CredentialStore",
    "Role",
    "StoredCredential",
    "rotate_data_key",
]

Role = Literal["primary", "backup"]
ROLES: tuple[Role, ...] = ("primary", "backup")

CRED_PREFIX = "methods:cred:"
ENROLL_PREFIX = "methods:enroll:"
LOOKUP_KEY = "methods:lookup-key"
_LOOKUP_AAD = b"nidan:lookup-key"
LOOKUP_KEY_BYTES = 32
# A busy record is retried this often before giving up: more would mean a bug, not load.
CAS_RETRIES = 50

T = TypeVar("T")


def credential_aad(user_id: str, credential_id: str) -> bytes:
    return f"nidan:credential:{user_id}:{credential_id}".encode()


def enrollment_aad(user_id: str, role: str) -> bytes:
    return f"nidan:enrollment:{user_id}:{role}".encode()


@dataclass(frozen=True)
class StoredCredential:
    """A credential as stored: public parts in clear, ``sealed`` encrypted."""

    id: str
    method: str
    role: Role
    created_at: float
    public: Mapping[str, Any]
    sealed: str = field(repr=False)
    phone_key: str | None = None
    country_code: int | None = None
    source: str = "enrolled"  # or "imported"
    # Methods with several keys (security keys): public, kept in clear with their counters.
    keys: tuple[Key, ...] = ()

    def to_json(self) -> dict[str, Any]:
        found = {
            "keys": [key.to_json() for key in self.keys],
            "id": self.id,
            "method": self.method,
            "role": self.role,
            "created_at": self.created_at,
            "public": dict(self.public),
            "sealed": self.sealed,
            "phone_key": self.phone_key,
            "country_code": self.country_code,
            "source": self.source,
        }
        if not self.keys:
            del found["keys"]  # records of code methods stay as they were
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredCredential:
        return cls(
            id=str(data["id"]),
            method=str(data["method"]),
            role=data["role"],
            created_at=float(data["created_at"]),
            public=dict(data.get("public") or {}),
            sealed=str(data["sealed"]),
            phone_key=data.get("phone_key"),
            country_code=data.get("country_code"),
            source=str(data.get("source", "enrolled")),
            keys=tuple(Key.from_json(k) for k in data.get("keys") or ()),
        )

    def with_role(self, role: Role) -> StoredCredential:
        return StoredCredential(**{**self.__dict__, "role": role})


def secret_to_json(secret: bytes | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(secret, bytes | bytearray):
        return {"b": base64.b64encode(bytes(secret)).decode("ascii")}
    return {"j": dict(secret)}


def secret_from_json(data: Mapping[str, Any]) -> bytes | dict[str, Any]:
    if "b" in data:
        return base64.b64decode(data["b"])
    return dict(data["j"])


Credentials = dict[Role, StoredCredential]


class CredentialStore:
    """Reads and writes credential records; seals and opens what they protect."""

    def __init__(self, store: Store, keys: DataKeys) -> None:
        self.store = store
        self.keys = keys
        self._lookup_key: bytes | None = None
        self._lock = threading.Lock()

    # -- keyed hashes ----------------------------------------------------------------------

    def lookup_key(self) -> bytes:
        """The deployment's HMAC key for phone numbers, codes and recovery codes."""
        if self._lookup_key is None:
            with self._lock:
                if self._lookup_key is None:
                    self._lookup_key = self._load_or_create_lookup_key()
        return self._lookup_key

    def _load_or_create_lookup_key(self) -> bytes:
        raw = self.store.get(LOOKUP_KEY)
        if raw is None:
            # Of several replicas starting at once, exactly one key wins; all read it back.
            token = self.keys.encrypt(os.urandom(LOOKUP_KEY_BYTES), _LOOKUP_AAD)
            self.store.add(LOOKUP_KEY, token.encode("ascii"))
            raw = self.store.get(LOOKUP_KEY)
            if raw is None:
                raise StoreError("the lookup key vanished right after it was written")
        return self.keys.decrypt(raw.decode("ascii"), _LOOKUP_AAD)

    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value`` for ``purpose`` (a domain separator), hex."""
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self.lookup_key(), message, hashlib.sha256).hexdigest()

    def phone_key(self, e164: str) -> str:
        return self.keyed_hash("phone", e164)

    # -- sealing -----------------------------------------------------------------------------

    def seal_value(self, aad: bytes, value: Mapping[str, Any]) -> str:
        return self.keys.encrypt(json.dumps(value, separators=(",", ":")).encode(), aad)

    def open_value(self, aad: bytes, token: str) -> dict[str, Any]:
        data = json.loads(self.keys.decrypt(token, aad))
        if not isinstance(data, dict):
            raise StoreError("a sealed value is not a JSON object")
        return data

    def seal_credential(self, user_id: str, credential: Credential) -> str:
        return self.seal_value(
            credential_aad(user_id, credential.id),
            {"secret": secret_to_json(credential.secret), "phone": credential.phone},
        )

    def open_credential(self, user_id: str, stored: StoredCredential) -> Credential:
        opened = self.open_value(credential_aad(user_id, stored.id), stored.sealed)
        return Credential(
            secret=secret_from_json(opened["secret"]),
            public=dict(stored.public),
            phone=opened.get("phone"),
            id=stored.id,
            method=stored.method,
            keys=stored.keys,
        )

    def to_stored(
        self, user_id: str, role: Role, credential: Credential, *, source: str = "enrolled"
    ) -> StoredCredential:
        phone = credential.phone
        country = None
        if phone is not None:
            # Already E.164 ("+81..."): the region argument is not used.
            country = parse_phone(phone, "ZZ").country_code
        return StoredCredential(
            id=credential.id,
            method=credential.method,
            role=role,
            created_at=time.time(),
            public=dict(credential.public),
            sealed=self.seal_credential(user_id, credential),
            phone_key=None if phone is None else self.phone_key(phone),
            country_code=country,
            source=source,
            keys=credential.keys,
        )

    # -- records -----------------------------------------------------------------------------

    @staticmethod
    def record_key(user_id: str) -> str:
        return CRED_PREFIX + user_id

    def read(self, user_id: str) -> tuple[bytes | None, Credentials]:
        raw = self.store.get(self.record_key(user_id))
        return raw, _parse_record(raw)

    def load(self, user_id: str) -> Credentials:
        return self.read(user_id)[1]

    def update(
        self, user_id: str, change: Callable[[Credentials], tuple[Credentials, T]]
    ) -> T:
        """Apply ``change`` (current -> (new, result)) atomically with compare-and-set,
        re-reading and re-applying on conflict; ``change`` may raise to refuse."""
        key = self.record_key(user_id)
        for _ in range(CAS_RETRIES):
            raw, current = self.read(user_id)
            new, result = change(dict(current))
            new_raw = _dump(new) if new else None
            if new_raw == raw or self.store.cas(key, raw, new_raw):
                return result
        raise StoreError("the credential record kept changing; giving up")


def _parse_record(raw: bytes | None) -> Credentials:
    record = load_record(raw)
    if record is None:
        return {}
    found: Credentials = {}
    for role, data in (record.get("credentials") or {}).items():
        stored = StoredCredential.from_json(data)
        found[stored.role] = stored
        if role != stored.role:
            raise StoreError("a credential record names two different roles")
    return found


def _dump(credentials: Credentials) -> bytes:
    return dump_record(
        {"credentials": {role: c.to_json() for role, c in sorted(credentials.items())}}
    )


def rotate_data_key(store: Store, keys: DataKeys) -> int:
    """Re-encrypt every sealed value under the current key; returns how many changed.
    ``idp keys rotate-data-key`` runs this."""
    changed = 0
    raw = store.get(LOOKUP_KEY)
    if raw is not None and keys.needs_rotation(raw.decode("ascii")):
        new = keys.reencrypt(raw.decode("ascii"), _LOOKUP_AAD).encode("ascii")
        changed += int(store.cas(LOOKUP_KEY, raw, new))
    for key in list(store.scan(CRED_PREFIX)):
        user_id = key[len(CRED_PREFIX) :]
        changed += _reencrypt_record(store, keys, key, user_id)
    for key in list(store.scan(ENROLL_PREFIX)):
        changed += _reencrypt_pending(store, keys, key)
    return changed


def _reencrypt_record(store: Store, keys: DataKeys, key: str, user_id: str) -> int:
    for _ in range(CAS_RETRIES):
        raw = store.get(key)
        credentials = _parse_record(raw)
        rewritten: Credentials = {}
        count = 0
        for role, stored in credentials.items():
            aad = credential_aad(user_id, stored.id)
            sealed = keys.reencrypt(stored.sealed, aad)
            count += sealed != stored.sealed
            rewritten[role] = StoredCredential(**{**stored.__dict__, "sealed": sealed})
        if count == 0 or store.cas(key, raw, _dump(rewritten)):
            return count
    raise StoreError("a credential record kept changing during rotation")


def _reencrypt_pending(store: Store, keys: DataKeys, key: str) -> int:
    # methods:enroll:<user id>:<role>; a pending enrollment lives minutes: keep its TTL.
    user_id, _, role = key[len(ENROLL_PREFIX) :].rpartition(":")
    raw = store.get(key)
    record = load_record(raw)
    if raw is None or record is None or not keys.needs_rotation(record["sealed"]):
        return 0
    record["sealed"] = keys.reencrypt(record["sealed"], enrollment_aad(user_id, role))
    ttl = store.ttl(key)
    version = int(record.pop("v", 1))
    return int(store.cas(key, raw, dump_record(record, version), ttl=ttl or None))
