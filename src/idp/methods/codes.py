"""The one-time-code service for delivered codes (SMS, voice; BEHAVIOUR S5).

- A code is 6 digits from :mod:`secrets`, valid 10 minutes (``lifetimes.code_s``).
- It is stored only as a salted, keyed hash. With 10**6 possible codes a hash alone would
  not resist enumeration, so the hash is an HMAC under the deployment's lookup key (kept
  encrypted in the Store): a Store dump alone reveals no code. What really protects a code
  is its short life and the core's limit of 5 tries (:mod:`idp.methods.limits`).
- Codes live in *scopes* (person, method, slot); a new code replaces the scope's old one,
  which is void at once (S5). Tries are counted per credential by the core, not here, so a
  new code never resets the failure count (NIST SP 800-63B 5.2.2).
- A right code is consumed with compare-and-set, and the core refuses its id twice through
  ``Store.add``, so of any number of racing replicas exactly one accepts it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from idp.methods.errors import CodeExpired
from idp.store import Store, dump_record, load_record

__all__ = ["CODE_DIGITS", "CodeService", "IssuedCode", "normalise_code"]

# BEHAVIOUR S5 and NIST SP 800-63B 5.1.3.1: at least 6 decimal digits, from an approved RNG.
CODE_DIGITS = 6
SALT_BYTES = 16
MAX_SUBMITTED_CHARS = 64
OTC_PREFIX = "methods:otc:"
# The record outlives its code this long, so a late entry reads "expired" rather than
# "never sent"; it cannot be accepted (its expiry is checked against the clock).
EXPIRED_GRACE_S = 15 * 60


@dataclass(frozen=True)
class IssuedCode:
    """A fresh code. ``value`` goes into the SMS or call and nowhere else."""

    id: str
    value: str = field(repr=False)
    expires_at: float

    def digits(self) -> tuple[str, ...]:
        """The code's digits, one by one (for voice calls)."""
        return tuple(self.value)


def normalise_code(submitted: str) -> str:
    """What a person typed, as ASCII: full-width digits (Japanese input) become ASCII,
    spaces and hyphens go. Anything longer than a code could be is cut (it is wrong anyway)
    so a huge input costs nothing."""
    text = unicodedata.normalize("NFKC", (submitted or "")[:MAX_SUBMITTED_CHARS])
    return "".join(ch for ch in text if ch not in " -\t\r\n")


class CodeService:
    """Issues and checks delivered codes. Thread-safe; all state is in the Store."""

    def __init__(
        self,
        store: Store,
        *,
        lifetime_s: float,
        pepper: Callable[[], bytes],
        clock: Callable[[], float],
        observer: Callable[[str, IssuedCode], None] | None = None,
    ) -> None:
        self._store = store
        self._lifetime_s = lifetime_s
        self._pepper = pepper
        self._clock = clock
        # Test harnesses only (idp.methods.testing): sees each issued code.
        self._observer = observer

    @property
    def lifetime_s(self) -> float:
        return self._lifetime_s

    def _hash(self, salt: bytes, scope: str, code: str) -> bytes:
        message = salt + scope.encode() + b"\x00" + code.encode()
        return hmac.new(self._pepper(), message, hashlib.sha256).digest()

    def issue(self, scope: str) -> IssuedCode:
        """A new code for ``scope``, replacing (voiding) any earlier one."""
        value = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        code_id = secrets.token_hex(16)
        salt = secrets.token_bytes(SALT_BYTES)
        expires_at = self._clock() + self._lifetime_s
        record = {
            "id": code_id,
            "salt": base64.b64encode(salt).decode("ascii"),
            "hash": base64.b64encode(self._hash(salt, scope, value)).decode("ascii"),
            "expires_at": expires_at,
        }
        self._store.set(
            OTC_PREFIX + scope, dump_record(record), ttl=self._lifetime_s + EXPIRED_GRACE_S
        )
        issued = IssuedCode(id=code_id, value=value, expires_at=expires_at)
        if self._observer is not None:
            self._observer(scope, issued)
        return issued

    def check(self, scope: str, submitted: str) -> str | None:
        """The code's id if ``submitted`` is the live code of ``scope``, else ``None``.

        Raises :class:`CodeExpired` when the scope has no live code (never sent, expired,
        consumed or replaced by one that then was). A right code is consumed here; the
        caller still refuses its id twice (a racing replica may have read it too)."""
        key = OTC_PREFIX + scope
        raw = self._store.get(key)
        record = load_record(raw)
        if raw is None or record is None:
            raise CodeExpired()
        if self._clock() >= float(record["expires_at"]):
            self._store.cas(key, raw, None)
            raise CodeExpired()
        salt = base64.b64decode(record["salt"])
        expected = base64.b64decode(record["hash"])
        if not hmac.compare_digest(self._hash(salt, scope, normalise_code(submitted)), expected):
            return None
        # Consume it unless a newer code replaced it meanwhile (then that one stays live).
        self._store.cas(key, raw, None)
        return str(record["id"])

    def void(self, scope: str) -> None:
        """Forget the scope's code (enrollment cancelled, method removed)."""
        self._store.delete(OTC_PREFIX + scope)
