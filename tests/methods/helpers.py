"""A real method layer for tests: real store, real plugins (via entry points), outbox delivery,
captured audit events, a clock tests can move."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from idp.delivery.outbox import read_outbox
from idp.delivery.registry import Delivery, load_transports
from idp.methods import MethodUser
from idp.methods.service import MethodService, Role
from idp.observability import Audit, AuditEvent
from idp.settings import Settings
from idp.store import Store
from idp.store.sqlite import SqliteStore
from idp_totp import totp_at
from tests.conftest import make_settings

# The digits a call speaks (Japanese and English), for reading codes from the outbox.
VOICE_WORDS = {
    word: str(digit)
    for words in (
        ("ゼロ", "いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう"),
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    )
    for digit, word in enumerate(words)
}


class World:
    """Everything a method test needs; ``close()`` it (the ``world`` fixture does)."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        store: Store | None = None,
        **sections: dict[str, Any],
    ) -> None:
        self.tmp_path = tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.settings: Settings = make_settings(tmp_path, **sections)
        self.store = store if store is not None else SqliteStore.open(tmp_path / "m.sqlite3")
        self.audit = Audit()
        self.events: list[AuditEvent] = []
        self.audit.listeners.append(self.events.append)
        self.outbox_path = tmp_path / "outbox.jsonl"
        self.delivery: Delivery = load_transports(self.settings.delivery)
        self.offset = 0.0
        # Every code the core issued, newest last: what a leak check looks for.
        self.issued: list[str] = []
        try:
            self.service = MethodService.from_settings(
                self.settings, self.store, audit=self.audit, delivery=self.delivery,
                clock=self.now, code_observer=lambda scope, code: self.issued.append(code.value),
            )
        except BaseException:
            self.close()
            raise

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def close(self) -> None:
        self.delivery.close()
        self.store.close()

    @staticmethod
    def user(user_id: str = "u1", locale: str = "en") -> MethodUser:
        return MethodUser(id=user_id, email=f"{user_id}@example.com", display_name=user_id,
                          locale=locale)

    # -- what the phone received --------------------------------------------------------------

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        return read_outbox(self.outbox_path, to=to)

    def last_code(self, to: str | None = None) -> str:
        """The code in the newest SMS or call (to ``to``), as the person would read it."""
        messages = self.messages(to)
        assert messages, "nothing was sent"
        newest = messages[0]
        if newest["channel"] == "sms":
            found = re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", newest["text"])
            assert found, "the SMS carries no 6-digit code"
            return found.group(0)
        digits = "".join(VOICE_WORDS[s] for s in newest["segments"] if s in VOICE_WORDS)
        half = len(digits) // 2
        assert digits[:half] == digits[half:], "the call says the code twice"
        return digits[:half]

    def events_named(self, name: str) -> list[AuditEvent]:
        return [e for e in self.events if e["event"] == name]

    # -- enrollment shortcuts -----------------------------------------------------------------

    def totp_code(self, secret_b32: str, at: float | None = None, **params: Any) -> str:
        key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
        return totp_at(key, self.now() if at is None else at, **params)

    def begin_totp(self, user: MethodUser, role: Role) -> str:
        """Start app enrollment; returns the secret from the otpauth URI, as an app reads it."""
        pending = self.service.begin_enrollment(user, role, "totp", {})
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(pending.display["otpauth_uri"]).query)
        return query["secret"][0]

    def enroll_totp(self, user: MethodUser, role: Role = "primary") -> str:
        secret = self.begin_totp(user, role)
        self.service.complete_enrollment(user, role, {"code": self.totp_code(secret)})
        self.advance(90)  # past the enrollment code's window: the next code is a new one
        return secret

    def enroll_phone(self, user: MethodUser, role: Role, method: str, phone: str) -> None:
        self.service.begin_enrollment(user, role, method, {"phone": phone})
        self.service.complete_enrollment(user, role, {"code": self.last_code()})

    def enroll_both(self, user: MethodUser, phone: str = "090-1234-5678") -> str:
        """Primary: app; backup: SMS to ``phone``. Returns the app's secret."""
        secret = self.enroll_totp(user, "primary")
        self.enroll_phone(user, "backup", "sms", phone)
        return secret


def leaked(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Which of ``secrets`` appear in ``texts`` (digit strings matched as whole numbers)."""
    joined = "\n".join(texts)
    found = []
    for secret in secrets:
        if re.search(rf"(?<![0-9]){re.escape(secret)}(?![0-9])", joined):
            found.append(secret)
    return found


def event_texts(events: Iterable[AuditEvent]) -> list[str]:
    return [json.dumps(e, ensure_ascii=False, default=str) for e in events]
