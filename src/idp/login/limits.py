"""Password limits (BEHAVIOUR S4, DESIGN "Limits"; NIST SP 800-63B 5.2.2).

Figures come from ``[limits]``:

- Per account and IP address (BEHAVIOUR S4: "lock the account/IP pair"): after
  ``password_delay_after`` (5) consecutive failures each further attempt must wait a growing
  delay (1 s, 2 s, 4 s ... at most :data:`MAX_DELAY_S`); the person is told "try again in
  N s". Nothing sleeps on the server: an early attempt is refused without checking the
  password. At every ``password_lock_after`` (10) failures the pair is locked for
  ``password_lock_s`` (15 min). Keyed by the pair, so a stranger hammering an address from
  elsewhere cannot lock its owner out.
- Per IP address: at most ``password_per_ip_per_minute`` (30) failures a minute, whatever
  the accounts; beyond that every attempt from the address waits for the minute to end.
- Per account, from everywhere: ``password_hard_stop`` (100) consecutive failures lock the
  account until an operator unlocks it (:func:`unlock`, ``idp users unlock EMAIL``): the
  bound NIST SP 800-63B 5.2.2 sets on guesses against one account, however distributed.

A success clears the account's failures and its pair's. Counters are keyed by a keyed hash of the
*normalised email typed*, not by user id, so an address with no account is slowed down and
locked exactly like one with an account: the limits never reveal whether an account exists
(S4), and the Store never holds the addresses people mistyped. These counters are separate
from the code counters of :mod:`idp.methods.limits`: wrong codes never lock a password, and
wrong passwords never use up code tries.

Check-then-count is not atomic: a burst of parallel guesses can overshoot a threshold by the
burst's size, which the per-IP limit and the hard stop bound.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from idp.settings import LimitSettings, Settings
from idp.store import Store
from idp.users import InvalidEmail, normalise_email

__all__ = ["MAX_DELAY_S", "PasswordLimits", "Refusal", "email_subject", "limits_secret"]

PREFIX: Final = "login:pw:"
# Consecutive failures are remembered this long (a fixed window from the first failure). As
# long as a trusted browser lives: a counter that never expired would keep a key for every
# address ever mistyped.
FAILURE_MEMORY_S: Final = 30 * 24 * 3600
# The growing delay stops growing here: beyond it the lock takes over.
MAX_DELAY_S: Final = 30
IP_WINDOW_S: Final = 60
_SUBJECT_CONTEXT: Final = b"nidan.login.password-limits.v1"

Kind = Literal["ip", "delay", "locked", "stopped"]


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is not looked at now; ``retry_after_s`` is ``None`` for a hard stop."""

    kind: Kind
    retry_after_s: int | None


def email_subject(secret: bytes, email: str) -> str:
    """The counters' key for what was typed: HMAC of the normalised address (or of the text
    itself, NFKC and case-folded, when it is no address at all)."""
    try:
        text = normalise_email(email)
    except InvalidEmail:
        text = unicodedata.normalize("NFKC", email[:320]).strip().casefold()
    key = hmac.new(secret, _SUBJECT_CONTEXT, hashlib.sha256).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


def limits_secret(settings: Settings) -> bytes:
    """The key of :func:`email_subject`: the newest cookie key (rotating it starts the
    counters afresh, which costs an attacker nothing they could not get by waiting)."""
    keys = settings.secrets.cookie_keys
    if not keys:
        raise ValueError("secrets.cookie_keys is empty: the password limits need a key")
    return keys[0].get_secret_value().encode()


def _seconds(value: float | None, fallback: float) -> int:
    return max(1, math.ceil(value if value is not None else fallback))


class PasswordLimits:
    """The counters above, in the Store (shared by every replica)."""

    def __init__(self, store: Store, limits: LimitSettings, secret: bytes) -> None:
        self._store = store
        self._limits = limits
        self._secret = secret

    def subject(self, email: str) -> str:
        return email_subject(self._secret, email)

    def _pair(self, subject: str, ip: str | None) -> str:
        # The address is hashed too: these keys outlive the IP's one-minute counter.
        digest = hmac.new(self._secret, (ip or "-").encode(), hashlib.sha256).hexdigest()
        return f"{subject}:{digest[:16]}"

    # -- keys -----------------------------------------------------------------------------

    @staticmethod
    def _fails(subject: str) -> str:
        return f"{PREFIX}fails:{subject}"

    @staticmethod
    def _delay(subject: str) -> str:
        return f"{PREFIX}delay:{subject}"

    @staticmethod
    def _lock(subject: str) -> str:
        return f"{PREFIX}lock:{subject}"

    @staticmethod
    def _stop(subject: str) -> str:
        return f"{PREFIX}stop:{subject}"

    @staticmethod
    def _ip(ip: str) -> str:
        return f"{PREFIX}ip:{ip}"

    # -- checking -------------------------------------------------------------------------

    def check(self, subject: str, ip: str | None) -> Refusal | None:
        """Whether an attempt for ``subject`` from ``ip`` may be looked at now."""
        store = self._store
        pair = self._pair(subject, ip)
        if store.get(self._stop(subject)) is not None:
            return Refusal("stopped", None)
        if store.get(self._lock(pair)) is not None:
            return Refusal("locked", _seconds(store.ttl(self._lock(pair)),
                                              self._limits.password_lock_s))
        if ip:
            raw = store.get(self._ip(ip))
            if raw is not None and int(raw) >= self._limits.password_per_ip_per_minute:
                return Refusal("ip", _seconds(store.ttl(self._ip(ip)), IP_WINDOW_S))
        if store.get(self._delay(pair)) is not None:
            return Refusal("delay", _seconds(store.ttl(self._delay(pair)), 1))
        return None

    def failures(self, subject: str) -> int:
        raw = self._store.get(self._fails(subject))
        return 0 if raw is None else int(raw)

    # -- counting -------------------------------------------------------------------------

    def failed(self, subject: str, ip: str | None) -> tuple[int, Refusal | None]:
        """Count a wrong password (or an unknown address). Returns the consecutive failures
        and what this failure brought on (a delay, a lock, a hard stop), if anything."""
        limits = self._limits
        store = self._store
        if ip:
            store.incr(self._ip(ip), 1, ttl=IP_WINDOW_S)
        pair = self._pair(subject, ip)
        count = store.incr(self._fails(subject), 1, ttl=FAILURE_MEMORY_S)
        pair_count = store.incr(self._fails(pair), 1, ttl=FAILURE_MEMORY_S)
        if count >= limits.password_hard_stop:
            store.set(self._stop(subject), b"1")
            return count, Refusal("stopped", None)
        if pair_count % limits.password_lock_after == 0:
            store.set(self._lock(pair), b"1", ttl=limits.password_lock_s)
            return count, Refusal("locked", limits.password_lock_s)
        if pair_count >= limits.password_delay_after:
            delay = min(MAX_DELAY_S, 2 ** (pair_count - limits.password_delay_after))
            store.set(self._delay(pair), b"1", ttl=delay)
            return count, Refusal("delay", delay)
        return count, None

    def succeeded(self, subject: str, ip: str | None) -> None:
        """A right password: the account's and the pair's failures start again (the IP's
        minute stays)."""
        pair = self._pair(subject, ip)
        for key in (self._fails(subject), self._fails(pair), self._delay(pair)):
            self._store.delete(key)

    def unlock(self, subject: str) -> bool:
        """Clear every password limit of ``subject`` (operator). ``True`` if any was set."""
        keys = [self._fails(subject), self._stop(subject)]
        # Every pair of this account, from whatever address (an admin path: a scan is fine).
        for kind in ("fails", "delay", "lock"):
            keys.extend(self._store.scan(f"{PREFIX}{kind}:{subject}:"))
        return any([self._store.delete(key) for key in keys])
