"""The login transaction: one person's sign-in in progress, in the Store, bound to a browser.

The browser holds a random 256-bit value in the cookie ``__Host-nidan_login`` (``nidan_login``
on a plain-http dev server, where browsers refuse the prefix and ``Secure``); the Store holds
the transaction under the SHA-256 of that value (``login:tx:<hex>``), so a store dump cannot
be turned back into cookies. The record lives ``[lifetimes] login_transaction_s`` (15 min)
from its start and is never extended. Every change is a compare-and-set against the record
as it was read, so two tabs or two replicas cannot both move one transaction forward, and the
end of the journey deletes it the same way: a transaction finishes once (single use).

Any replica serves any step: nothing about a transaction lives in a process.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Final

from idp.devices import IssuedCookie
from idp.login.model import LoginRequirements, Stage, Step
from idp.methods.credentials import ROLES, Role
from idp.store import Store, dump_record, load_record

__all__ = ["Held", "LoginTransaction", "Transactions"]

TX_PREFIX: Final = "login:tx:"
SECURE_COOKIE: Final = "__Host-nidan_login"
PLAIN_COOKIE: Final = "nidan_login"
# OWASP Session Management: at least 64 bits of entropy; we use 256.
TOKEN_BYTES: Final = 32
# A public id for the transaction, carried by its forms: a page of an older transaction of
# the same browser (another tab) can't move this one.
ID_BYTES: Final = 12
RECORD_VERSION: Final = 1
# A cookie value far longer than ours is not ours: not worth hashing.
_MAX_TOKEN_CHARS: Final = 128


@dataclass(frozen=True)
class LoginTransaction:
    """Everything a sign-in in progress knows. No secret: recovery codes waiting to be shown
    are sealed with the data keys (``sealed_codes``)."""

    id: str
    resume: str
    created_at: float
    expires_at: float
    step: Step = Step.PASSWORD
    force_password: bool = False
    force_code: bool = False
    login_hint: str | None = None
    ui_locales: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    # Known once the password was checked (or, for a step-up, from the browser's session).
    user_id: str | None = None
    epoch: int | None = None  # the person's security epoch; a change elsewhere ends the journey
    auth_time: float | None = None  # when the password was checked
    session_sid: str | None = None  # step-up: the SSO session whose password stands
    # The code step: which role is challenged, and whether its challenge went out.
    role: Role = "primary"
    sent_role: Role | None = None
    sent_to: str | None = None
    resend_at: float | None = None
    # What was proven in this sign-in.
    verified_amr: tuple[str, ...] = ()
    method: str | None = None  # the method whose code was last accepted
    second_factor_at: float | None = None
    trusted: bool = False
    recovery: bool = False  # signed in with a recovery code: both methods are re-enrolled
    # Enrollment (E1, E2): the role being set up and its stage.
    enroll_role: Role = "primary"
    stage: Stage = Stage.CHOOSE
    enroll_method: str | None = None
    sealed_codes: str | None = None

    @property
    def requirements(self) -> LoginRequirements:
        return LoginRequirements(
            resume=self.resume, force_password=self.force_password, force_code=self.force_code,
            login_hint=self.login_hint, ui_locales=self.ui_locales, client_id=self.client_id,
            client_name=self.client_name,
        )

    def dump(self) -> bytes:
        data = asdict(self)
        data["verified_amr"] = list(self.verified_amr)
        return dump_record(data, RECORD_VERSION)

    @classmethod
    def load(cls, raw: bytes | None) -> LoginTransaction | None:
        data = load_record(raw)
        if data is None or data.get("v") != RECORD_VERSION:
            return None  # an unknown format is an expired transaction, never a guess
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        values["step"] = Step(values.get("step", Step.PASSWORD))
        values["stage"] = Stage(values.get("stage", Stage.CHOOSE))
        values["verified_amr"] = tuple(values.get("verified_amr", ()))
        roles = (values.get("role", "primary"), values.get("enroll_role", "primary"),
                 values.get("sent_role") or "primary")
        if any(role not in ROLES for role in roles):
            return None  # likewise
        return cls(**values)


@dataclass(frozen=True)
class Held:
    """A transaction as read, with what compare-and-set needs to change it."""

    tx: LoginTransaction
    key: str
    raw: bytes


def _key(token: str) -> str:
    return TX_PREFIX + hashlib.sha256(token.encode()).hexdigest()


class Transactions:
    """Create, read, change and end login transactions."""

    def __init__(
        self, store: Store, *, lifetime_s: float, secure: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.lifetime_s = lifetime_s
        self.secure = secure
        self.cookie_name = SECURE_COOKIE if secure else PLAIN_COOKIE
        self._clock = clock

    def create(self, requirements: LoginRequirements, **state: Any) -> tuple[str, Held]:
        """A new transaction (``state`` sets its first fields); returns the cookie value."""
        now = self._clock()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        tx = LoginTransaction(
            id=secrets.token_urlsafe(ID_BYTES), resume=requirements.resume, created_at=now,
            expires_at=now + self.lifetime_s, force_password=requirements.force_password,
            force_code=requirements.force_code, login_hint=requirements.login_hint,
            ui_locales=requirements.ui_locales, client_id=requirements.client_id,
            client_name=requirements.client_name, **state,
        )
        raw = tx.dump()
        key = _key(token)
        self._store.set(key, raw, ttl=self.lifetime_s)
        return token, Held(tx, key, raw)

    def load(self, token: str | None) -> Held | None:
        """The live transaction of this cookie value, or ``None``."""
        if not token or len(token) > _MAX_TOKEN_CHARS:
            return None
        key = _key(token)
        raw = self._store.get(key)
        tx = LoginTransaction.load(raw)
        if tx is None or raw is None or tx.expires_at <= self._clock():
            return None
        return Held(tx, key, raw)

    def save(self, held: Held, **changes: Any) -> Held | None:
        """Apply ``changes`` if nobody changed the transaction since it was read; ``None``
        if someone did (or it expired): the caller reads it again."""
        tx = replace(held.tx, **changes)
        left = tx.expires_at - self._clock()
        if left <= 0:
            return None
        raw = tx.dump()
        if not self._store.cas(held.key, held.raw, raw, ttl=left):
            return None
        return Held(tx, held.key, raw)

    def end(self, held: Held) -> bool:
        """Delete the transaction if unchanged since read: ``True`` for exactly one caller."""
        return self._store.cas(held.key, held.raw, None)

    def discard(self, token: str | None) -> None:
        """Drop whatever transaction this cookie value names (a new start replaces it)."""
        if token and len(token) <= _MAX_TOKEN_CHARS:
            self._store.delete(_key(token))

    def cookie(self, token: str) -> IssuedCookie:
        """The cookie binding the transaction to this browser: HttpOnly, SameSite=Lax (it must
        arrive on the top-level redirect from a client's /authorize), Secure over https."""
        return IssuedCookie(name=self.cookie_name, value=token, max_age=int(self.lifetime_s),
                            secure=self.secure)

    def clear_cookie(self) -> IssuedCookie:
        return IssuedCookie(name=self.cookie_name, value="", max_age=0, secure=self.secure)
