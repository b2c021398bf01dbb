"""The core's limits on codes: tries, consecutive failures, resends and send budgets.

Figures come from ``[limits]`` (DESIGN "Limits"); the reasons:

- Tries: ``code_tries`` (5) per credential per window of one code lifetime. A try is
  *reserved* (atomic ``incr``) before the code is checked, so fifty concurrent guesses get
  five checks, not fifty. The window does not restart when a new code is sent: resending
  must not buy more guesses (NIST SP 800-63B 5.2.2). With 6 digits and 5 tries per 10
  minutes, guessing succeeds with probability 5e-6 per window.
- A right code answered within a *scope* (the sign-in transaction it belongs to) spends
  that scope: tries reserved for it after the success are refused, so wrong codes racing
  the right one are never checked in a fresh window. The first try of a *different* scope
  afterwards starts a new window (a new generation of the counter), so the person signs in
  again normally; every generation is one counter, so no window ever passes more than
  ``code_tries`` checks. Without a scope, a success starts the window again at once.
- Consecutive failures: after ``code_disable_after`` (100) wrong codes with no success in
  between, the method is disabled until an operator reset or a replacement (SP 800-63B
  5.2.2: "no more than 100 consecutive failed attempts").
- Resend: one send per credential every ``resend_cooldown_s`` (30 s); at most
  ``resend_per_window`` (5) per person and per phone number per ``resend_window_s``
  (15 min); at most ``sends_per_country_per_day`` to one country calling code, the guard
  against SMS pumping (toll fraud through premium ranges of one country).

Windows are fixed from their first hit (``Store.incr`` semantics) and shared by every
replica. None of these counters is touched by a wrong password: code and password limits
are separate, so nobody locks a person out with wrong codes alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from idp.methods.errors import BudgetExhausted, MethodDisabled, ResendTooSoon, TooManyTries
from idp.settings import LimitSettings
from idp.store import Store

__all__ = ["AttemptLimiter", "SendGuard"]

TRIES_PREFIX = "methods:tries:"
FAILS_PREFIX = "methods:fails:"
GENERATION_PREFIX = "methods:trygen:"
SPENT_PREFIX = "methods:spent:"
COOLDOWN_PREFIX = "methods:cooldown:"
SENDS_PREFIX = "methods:sends:"
# A "day" for the per-country budget: a fixed 24 h window from its first send.
COUNTRY_WINDOW_S = 24 * 3600


def _ceil_s(seconds: float | None, fallback: float) -> int:
    return max(1, math.ceil(seconds if seconds is not None else fallback))


class AttemptLimiter:
    """Tries per window and consecutive failures, per (person, subject). The subject is a
    credential id (a pending enrollment's too) or ``"recovery"``."""

    def __init__(self, store: Store, limits: LimitSettings, window_s: float) -> None:
        self._store = store
        self._tries = limits.code_tries
        self._disable_after = limits.code_disable_after
        self._window_s = window_s

    def _keys(self, user_id: str, subject: str) -> tuple[str, str]:
        """The current generation's tries counter and the consecutive failures counter."""
        base = f"{user_id}:{subject}"
        raw = self._store.get(GENERATION_PREFIX + base)
        generation = 0 if raw is None else int(raw)
        tries_key = TRIES_PREFIX + base + (f"#{generation}" if generation else "")
        return (tries_key, FAILS_PREFIX + base)

    def _spent_key(self, user_id: str, subject: str) -> str:
        return f"{SPENT_PREFIX}{user_id}:{subject}"

    def _too_many(self, tries_key: str) -> TooManyTries:
        return TooManyTries(retry_after_s=_ceil_s(self._store.ttl(tries_key), self._window_s))

    def reserve(self, user_id: str, subject: str, *, scope: str = "") -> int:
        """Take one try; returns how many remain after it. Raises :class:`MethodDisabled`
        or :class:`TooManyTries` (with ``retry_after_s``) instead of allowing a check. A
        ``scope`` already answered by a right code gets :class:`TooManyTries`; another
        scope after that success starts the next window."""
        if self.is_disabled(user_id, subject):
            raise MethodDisabled()
        spent_key = self._spent_key(user_id, subject)
        spent = self._store.get(spent_key)
        if spent is not None:
            if scope and spent == scope.encode():
                raise self._too_many(self._keys(user_id, subject)[0])
            if self._store.take(spent_key) is not None:
                # One caller moves to the next generation; a reservation racing this one
                # counts in the old counter, which passes no more than the limit either.
                self._store.incr(f"{GENERATION_PREFIX}{user_id}:{subject}", 1)
        tries_key, _ = self._keys(user_id, subject)
        used = self._store.incr(tries_key, 1, ttl=self._window_s)
        if used > self._tries:
            raise self._too_many(tries_key)
        return self._tries - used

    def check(self, user_id: str, subject: str) -> None:
        """Raise like :meth:`reserve` would, without taking a try (before sending a code)."""
        tries_key, _ = self._keys(user_id, subject)
        if self.is_disabled(user_id, subject):
            raise MethodDisabled()
        if self._store.get(self._spent_key(user_id, subject)) is not None:
            return  # a success: the next scope's first try starts a new window
        raw = self._store.get(tries_key)
        if raw is not None and int(raw) >= self._tries:
            raise self._too_many(tries_key)

    def failed(self, user_id: str, subject: str) -> bool:
        """Record a wrong code. ``True`` exactly when this failure disabled the subject."""
        _, fails_key = self._keys(user_id, subject)
        return self._store.incr(fails_key, 1) == self._disable_after

    def succeeded(self, user_id: str, subject: str, *, scope: str = "") -> None:
        """A right code: consecutive failures start again. With a ``scope``, that scope is
        spent (see :meth:`reserve`); without one, the tries start again too."""
        if not scope:
            self.reset(user_id, subject)
            return
        self._store.delete(self._keys(user_id, subject)[1])
        self._store.set(self._spent_key(user_id, subject), scope.encode(), ttl=self._window_s)

    def consecutive_failures(self, user_id: str, subject: str) -> int:
        raw = self._store.get(self._keys(user_id, subject)[1])
        return 0 if raw is None else int(raw)

    def is_disabled(self, user_id: str, subject: str) -> bool:
        return self.consecutive_failures(user_id, subject) >= self._disable_after

    def reset(self, user_id: str, subject: str) -> None:
        for key in (*self._keys(user_id, subject), self._spent_key(user_id, subject)):
            self._store.delete(key)


class SendGuard:
    """Resend cooldown and send budgets, checked *before* a code is issued or sent, so a
    refused resend never voids the code the person already has."""

    def __init__(self, store: Store, limits: LimitSettings, clock: Callable[[], float]) -> None:
        self._store = store
        self._limits = limits
        self._clock = clock

    def reserve(
        self,
        user_id: str,
        subject: str,
        *,
        phone_key: str | None = None,
        country_code: int | None = None,
    ) -> float:
        """Count one send, or raise :class:`ResendTooSoon` / :class:`BudgetExhausted`.
        Returns when the next send to this subject will be allowed (epoch seconds)."""
        limits = self._limits
        cooldown_key = f"{COOLDOWN_PREFIX}{user_id}:{subject}"
        if not self._store.add(cooldown_key, b"1", ttl=limits.resend_cooldown_s):
            left = _ceil_s(self._store.ttl(cooldown_key), limits.resend_cooldown_s)
            raise ResendTooSoon(retry_after_s=left)
        windows = [("user", f"{SENDS_PREFIX}user:{user_id}", limits.resend_per_window,
                    limits.resend_window_s)]
        if phone_key is not None:
            windows.append(("phone", f"{SENDS_PREFIX}phone:{phone_key}",
                            limits.resend_per_window, limits.resend_window_s))
        if country_code is not None:
            windows.append(("country", f"{SENDS_PREFIX}country:{country_code}",
                            limits.sends_per_country_per_day, COUNTRY_WINDOW_S))
        for name, key, allowed, window_s in windows:
            if self._store.incr(key, 1, ttl=window_s) > allowed:
                retry = _ceil_s(self._store.ttl(key), window_s)
                raise BudgetExhausted(retry_after_s=retry, limit=name)
        return self._clock() + limits.resend_cooldown_s

    def next_send_at(self, user_id: str, subject: str) -> float | None:
        """When the cooldown of ``subject`` ends, or ``None`` if a send is allowed now."""
        left = self._store.ttl(f"{COOLDOWN_PREFIX}{user_id}:{subject}")
        return None if left is None else self._clock() + left

    def clear_cooldown(self, user_id: str, subject: str) -> None:
        self._store.delete(f"{COOLDOWN_PREFIX}{user_id}:{subject}")
