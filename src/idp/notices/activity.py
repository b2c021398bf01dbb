"""Each person's recent activity, for ``/account``: sign-ins and security events.

The audit log is a log stream (JSON lines for the operator's log pipeline), not something a
page can query, so the same audit listener that makes notices also appends to a short list
kept in the store per person (``activity:<user id>``, newest first, at most
``[notifications] activity_kept`` entries, updated by compare-and-set so concurrent events on
several replicas never lose one). An entry holds the time, what happened (a fixed word),
the browser label and the rough network; never an address, a code or a number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from idp.store import Store, dump_record, load_record
from idp.web.i18n import N_

__all__ = ["ACTIVITY_WORDS", "Activity", "ActivityEntry"]

_KEY: Final = "activity:"
_MAX_CAS_ATTEMPTS: Final = 20
# Kept a year at most after the last event; a person who never signs in keeps nothing.
_KEEP_S: Final = 365 * 24 * 3600.0

# What happened, as shown on the page (msgids). Keys are notice kinds plus a few more.
ACTIVITY_WORDS: Final[dict[str, str]] = {
    "signed_in": N_("Signed in"),
    "new_browser": N_("Signed in from a new browser"),
    "trusted_browser": N_("Chose not to require codes on a browser"),
    "method_added": N_("Set up two-step verification"),
    "method_replaced": N_("Changed a two-step verification method"),
    "method_removed": N_("Removed a two-step verification method"),
    "methods_swapped": N_("Swapped primary and backup methods"),
    "password_changed": N_("Changed the password"),
    "recovery_codes_used": N_("Signed in with a recovery code"),
    "recovery_codes_regenerated": N_("Created new recovery codes"),
    "reset_by_operator": N_("Two-step verification reset by an administrator"),
    "account_locked": N_("Sign-in locked after wrong passwords or codes"),
    "email_changed": N_("Changed the email address"),
    "email_verified": N_("Confirmed the email address"),
    "reported": N_("Reported \"this wasn't me\": signed out everywhere"),
}


@dataclass(frozen=True)
class ActivityEntry:
    at: float
    what: str  # a key of ACTIVITY_WORDS
    label: str | None
    network: str | None


class Activity:
    def __init__(self, store: Store, *, kept: int,
                 clock: Callable[[], float]) -> None:
        self._store = store
        self._kept = kept
        self._clock = clock

    def add(self, user_id: str, what: str, *, label: str | None, network: str | None,
            at: float | None = None) -> None:
        entry = {"at": at if at is not None else self._clock(), "what": what,
                 "label": label, "network": network}
        key = _KEY + user_id
        for _ in range(_MAX_CAS_ATTEMPTS):
            raw = self._store.get(key)
            current = load_record(raw) or {}
            entries: list[dict[str, Any]] = list(current.get("entries", []))
            entries.insert(0, entry)
            if self._store.cas(key, raw, dump_record({"entries": entries[: self._kept]}),
                               ttl=_KEEP_S):
                return

    def forget(self, user_id: str) -> None:
        self._store.delete(_KEY + user_id)

    def recent(self, user_id: str) -> list[ActivityEntry]:
        data = load_record(self._store.get(_KEY + user_id)) or {}
        found = []
        for item in data.get("entries", []):
            if isinstance(item, dict) and item.get("what") in ACTIVITY_WORDS:
                found.append(ActivityEntry(float(item.get("at", 0)), str(item["what"]),
                                           item.get("label"), item.get("network")))
        return found
