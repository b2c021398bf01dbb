"""Consent: what a person has agreed a client may see, remembered per (person, client), and
the decision the consent page waits for.

``offline_access`` always needs the person's own yes (OIDC Core 11): a first-party client's
``skip_consent`` doesn't cover it, and with ``prompt=none`` it is dropped, not granted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from idp.oidc.claims import ClaimsRequest
from idp.store import Store, dump_record, load_record

__all__ = ["ConsentDecision", "Consents", "consent_scopes"]

_REMEMBERED = "oidc-consent:"
OFFLINE: Final = "offline_access"


def consent_scopes(scope: str, claims: ClaimsRequest) -> set[str]:
    """What the person is asked about: the granted scopes, plus the scopes whose claims the
    ``claims`` parameter names (``openid`` alone reveals only an identifier)."""
    return ({s for s in scope.split() if s != "openid"} | claims.scopes()) or {"openid"}


@dataclass(frozen=True)
class ConsentDecision:
    """Whether to ask, and what to grant if not asking."""

    ask: bool
    scope: str  # the scope to grant without asking (offline_access may have been dropped)
    offline: bool


class Consents:
    def __init__(self, store: Store, remember_s: int,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._remember_s = remember_s
        self._clock = clock

    def remembered(self, user_id: str, client_id: str) -> set[str]:
        data = load_record(self._store.get(f"{_REMEMBERED}{user_id}:{client_id}"))
        return set(data["scopes"]) if data else set()

    def remember(self, user_id: str, client_id: str, scopes: Iterable[str]) -> None:
        if self._remember_s <= 0:
            return
        known = self.remembered(user_id, client_id) | set(scopes)
        record: dict[str, Any] = {"scopes": sorted(known), "at": self._clock()}
        self._store.set(f"{_REMEMBERED}{user_id}:{client_id}", dump_record(record),
                        ttl=self._remember_s)

    def decide(self, *, user_id: str, client_id: str, skip_consent: bool, scope: str,
               claims: ClaimsRequest, prompt: frozenset[str],
               remembered: bool = True) -> ConsentDecision:
        """``remembered=False``: ignore any earlier consent (a self-registered client)."""
        wanted = consent_scopes(scope, claims)
        known = self.remembered(user_id, client_id) if remembered else set()
        offline_wanted = OFFLINE in scope.split()
        covered = skip_consent or (wanted - {OFFLINE}) <= known
        offline_ok = not offline_wanted or OFFLINE in known
        ask = "consent" in prompt or not covered or not offline_ok
        if ask and "none" in prompt and covered:
            # Only offline_access lacks a yes, and no page may be shown: grant without it.
            without = " ".join(s for s in scope.split() if s != OFFLINE)
            return ConsentDecision(ask=False, scope=without, offline=False)
        return ConsentDecision(ask=ask, scope=scope, offline=offline_wanted and not ask)
