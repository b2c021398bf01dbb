"""Recovery codes: the way in when both devices are lost (BEHAVIOUR E7, C3).

A person gets ``[enrollment] recovery_codes`` (10) codes like ``7K3QF-XM9PA``: ten symbols
of Crockford's base32 (no I, L, O or U, so nothing is misread; typed I/L count as 1 and O
as 0), 50 random bits each, from :mod:`secrets`.

They are stored only as keyed hashes (HMAC-SHA256 under the deployment's lookup key, which
is itself encrypted in the Store). A slow password hash is not needed: it exists to make
guessing *low-entropy* secrets expensive, but 2**50 possibilities per code already are, and
without the key (not in the hash record) there is nothing to test guesses against offline.
Online guessing goes through the core's attempt limits like any code.

Each code works once across all replicas (``Store.sadd`` of its hash into the generation's
used set answers "new" for exactly one caller); generating a new set voids every old code.
"""

from __future__ import annotations

import hmac
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idp.store import Store, dump_record, load_record

__all__ = [
    "ALPHABET", "RecoveryCodeSet", "RecoveryCodes", "new_recovery_code",
    "normalise_recovery_code",
]

# Crockford's base32 (https://www.crockford.com/base32.html): 32 symbols, 5 bits each.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUP_LENGTH = 5
GROUPS = 2  # 10 symbols x 5 bits = 50 bits per code
RECOVERY_PREFIX = "methods:recovery:"
USED_PREFIX = "methods:recovery-used:"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})


@dataclass(frozen=True)
class RecoveryCodeSet:
    """Freshly generated codes, to be shown once. ``repr`` hides them."""

    codes: tuple[str, ...] = field(repr=False)
    generation: str

    def __len__(self) -> int:
        return len(self.codes)


def normalise_recovery_code(submitted: str) -> str | None:
    """The code's ten symbols, upper-case, without separators; ``None`` if it cannot be a
    recovery code at all."""
    # Longer input cannot be a code: cut before normalising, so it costs nothing.
    text = unicodedata.normalize("NFKC", (submitted or "")[:64]).upper()
    text = "".join(ch for ch in text if ch not in " -\t\r\n").translate(_READ_AS)
    if len(text) != GROUP_LENGTH * GROUPS or any(ch not in ALPHABET for ch in text):
        return None
    return text


def new_recovery_code() -> str:
    """Ten random symbols as ``XXXXX-XXXXX`` (50 bits, from :mod:`secrets`)."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH * GROUPS))
    return "-".join(
        symbols[i : i + GROUP_LENGTH] for i in range(0, len(symbols), GROUP_LENGTH)
    )


class RecoveryCodes:
    """Generates, checks and counts one person's recovery codes."""

    def __init__(self, store: Store, keyed_hash: Callable[[str, str], str], count: int) -> None:
        self._store = store
        self._keyed_hash = keyed_hash
        self._count = count

    def _hash(self, user_id: str, generation: str, normalised: str) -> str:
        return self._keyed_hash("recovery", f"{user_id}:{generation}:{normalised}")

    def _record(self, user_id: str) -> dict[str, Any] | None:
        return load_record(self._store.get(RECOVERY_PREFIX + user_id))

    def generate(self, user_id: str) -> RecoveryCodeSet:
        """A new set, replacing (voiding) any earlier one."""
        old = self._record(user_id)
        generation = secrets.token_hex(8)
        codes = tuple(new_recovery_code() for _ in range(self._count))
        hashes = [self._hash(user_id, generation, c.replace("-", "")) for c in codes]
        record = {"generation": generation, "hashes": hashes, "created_at": time.time()}
        self._store.set(RECOVERY_PREFIX + user_id, dump_record(record))
        if old is not None:
            self._store.delete(f"{USED_PREFIX}{user_id}:{old['generation']}")
        return RecoveryCodeSet(codes=codes, generation=generation)

    def use(self, user_id: str, submitted: str) -> int | None:
        """Consume ``submitted`` if it is an unused code of the current set: returns how
        many codes are left. ``None`` if it is wrong, already used, or from a voided set."""
        record = self._record(user_id)
        normalised = normalise_recovery_code(submitted)
        if record is None or normalised is None:
            return None
        generation = str(record["generation"])
        candidate = self._hash(user_id, generation, normalised)
        hashes = [str(h) for h in record["hashes"]]
        matched = False
        for stored in hashes:  # no early exit: the time taken does not say which matched
            matched |= hmac.compare_digest(stored, candidate)
        if not matched:
            return None
        used_key = f"{USED_PREFIX}{user_id}:{generation}"
        if self._store.sadd(used_key, candidate) != 1:
            return None  # used before, possibly by a racing replica this very moment
        current = self._record(user_id)
        if current is None or current["generation"] != generation:
            return None  # the set was regenerated while this code was being checked
        return self._left(user_id, generation, hashes)

    def _left(self, user_id: str, generation: str, hashes: list[str]) -> int:
        used = self._store.smembers(f"{USED_PREFIX}{user_id}:{generation}")
        return sum(1 for h in hashes if h not in used)

    def remaining(self, user_id: str) -> int:
        """How many unused codes the person has (0 when none were ever generated)."""
        record = self._record(user_id)
        if record is None:
            return 0
        hashes = [str(h) for h in record["hashes"]]
        return self._left(user_id, str(record["generation"]), hashes)

    def exists(self, user_id: str) -> bool:
        return self._record(user_id) is not None

    def clear(self, user_id: str) -> None:
        """Void every code (operator reset)."""
        record = self._record(user_id)
        self._store.delete(RECOVERY_PREFIX + user_id)
        if record is not None:
            self._store.delete(f"{USED_PREFIX}{user_id}:{record['generation']}")
