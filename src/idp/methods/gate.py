"""The re-enrollment gate: after a reset, the password alone never sets up new methods (C3).

A reset (a recovery-code sign-in, or an operator's ``idp users reset-2sv``) leaves a person
with no method. Without a gate, whoever knows the password could sign in next and set up
methods of their own choosing. So every reset *closes* the gate of that person, and set-up
from nothing needs a proof besides the password:

- the sign-in that used a recovery code carries that proof itself (its transaction goes
  straight to set-up);
- any later sign-in must enter another recovery code (a recovery-code sign-in keeps the
  unused ones until the new pair is verified) or the one-time **enrollment code** an
  operator hands over (``idp users reset-2sv`` prints it; the admin API gives the same).

The gate opens again when the new pair is complete (E2). The enrollment code looks like a
recovery code (``XXXXX-XXXXX``, 50 random bits), is stored only as a keyed hash, works once
(``Store.take``: one caller on any replica gets it), for ``[lifetimes] reenrollment_code_s``.
Wrong guesses go through the recovery-code try limits.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable

from idp.methods.recovery import new_recovery_code, normalise_recovery_code
from idp.store import Store, dump_record, load_record

__all__ = ["GATE_PREFIX", "ReenrollmentGate"]

GATE_PREFIX = "methods:reenroll-gate:"
CODE_PREFIX = "methods:reenroll-code:"


class ReenrollmentGate:
    """Closes, checks and opens one person's re-enrollment gate."""

    def __init__(self, store: Store, keyed_hash: Callable[[str, str], str],
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._keyed_hash = keyed_hash
        self._clock = clock

    def close(self, user_id: str, *, reason: str) -> None:
        """After a reset: set-up from nothing needs a proof besides the password. Voids an
        enrollment code issued before."""
        record = {"reason": reason, "at": self._clock()}
        self._store.set(GATE_PREFIX + user_id, dump_record(record))
        self._store.delete(CODE_PREFIX + user_id)

    def is_closed(self, user_id: str) -> bool:
        return self._store.get(GATE_PREFIX + user_id) is not None

    def issue_code(self, user_id: str, lifetime_s: float) -> str:
        """A new one-time enrollment code (show it once to the operator); closes the gate if
        it was open and voids any earlier code."""
        if not self.is_closed(user_id):
            self.close(user_id, reason="enrollment-code")
        code = new_recovery_code()
        nonce = secrets.token_hex(8)
        digest = self._hash(user_id, nonce, code.replace("-", ""))
        record = {"nonce": nonce, "hash": digest, "expires_at": self._clock() + lifetime_s}
        self._store.set(CODE_PREFIX + user_id, dump_record(record), ttl=lifetime_s)
        return code

    def use_code(self, user_id: str, submitted: str) -> bool:
        """Consume the enrollment code if ``submitted`` is it: ``True`` for exactly one
        caller. Wrong, expired, used or never issued: ``False``."""
        key = CODE_PREFIX + user_id
        raw = self._store.get(key)
        record = load_record(raw)
        normalised = normalise_recovery_code(submitted)
        if record is None or normalised is None:
            return False
        candidate = self._hash(user_id, str(record["nonce"]), normalised)
        if not hmac.compare_digest(candidate, str(record["hash"])):
            return False
        if float(record["expires_at"]) <= self._clock():
            return False
        # Single use across replicas: only the caller that takes this very record wins.
        taken = self._store.take(key)
        return taken is not None and hmac.compare_digest(taken, raw or b"")

    def open(self, user_id: str) -> None:
        """The new pair is verified (E2): the gate has done its work."""
        self._store.delete(GATE_PREFIX + user_id)
        self._store.delete(CODE_PREFIX + user_id)

    def _hash(self, user_id: str, nonce: str, normalised: str) -> str:
        return self._keyed_hash("reenroll", f"{user_id}:{nonce}:{normalised}")
