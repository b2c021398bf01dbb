"""SSO sessions: one sign-in serves every client until it ends.

The browser holds a random 256-bit token in a cookie; the store holds only its SHA-256, so a
leaked store dump cannot be replayed as cookies. A session has a public id, ``sid`` (the ID
token claim and the back-channel logout key), distinct from the token. It records how the
person authenticated (``auth_time``, ``amr``, ``acr``, when the last second factor was
passed) and which clients it served, so logout can reach each of them.

A session is valid only while unexpired (absolute and idle limits) and while its security
epoch equals the person's: an operator reset or a change of methods or password elsewhere
ends it on every replica at the next request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from idp.devices.useragent import label_from_user_agent
from idp.observability import Audit
from idp.settings import Settings
from idp.store import Store, StoreError, dump_record, load_record

__all__ = ["SessionCookie", "SsoSession", "SsoSessions"]

TOKEN_BYTES = 32  # 256 bits: OWASP Session Management, at least 64 bits of entropy
SID_BYTES = 16
# last_seen is written at most this often, so a busy session costs one read per request.
TOUCH_EVERY_S = 60.0
_MAX_CAS_ATTEMPTS = 20


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_key(token_hash: str) -> str:
    return f"sso:{token_hash}"


def _sid_key(sid: str) -> str:
    return f"sso-sid:{sid}"


def _clients_key(sid: str) -> str:
    return f"sso-clients:{sid}"


def _user_sessions_key(user_id: str) -> str:
    return f"sso-user:{user_id}"


@dataclass(frozen=True)
class SsoSession:
    sid: str
    user_id: str
    auth_time: float  # when the password was last checked (OIDC auth_time)
    amr: tuple[str, ...]
    acr: str
    epoch: int
    created: float
    last_seen: float
    # When a second factor (a code, not a trusted browser) was last passed: C2 freshness.
    second_factor_at: float | None = None
    # What the operator sees of it (admin API): a browser label made from the User-Agent
    # by a fixed vocabulary (idp.devices.useragent), and the address it was created from.
    browser: str = ""
    address: str | None = None
    token_hash: str = field(default="", repr=False)

    def fresh_second_factor(self, within_s: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.second_factor_at is not None and now - self.second_factor_at <= within_s


@dataclass(frozen=True)
class SessionCookie:
    name: str
    value: str = field(repr=False)
    max_age: int
    secure: bool

    def set_cookie_kwargs(self) -> dict[str, Any]:
        return {"key": self.name, "value": self.value, "max_age": self.max_age, "path": "/",
                "secure": self.secure, "httponly": True, "samesite": "lax"}


class SsoSessions:
    def __init__(
        self, store: Store, settings: Settings, audit: Audit,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock
        self._absolute_s = settings.lifetimes.sso_session_s
        self._idle_s = settings.lifetimes.sso_idle_s
        self._secure = settings.server.secure
        self.cookie_name = "__Host-nidan_sid" if self._secure else "nidan_sid"

    # -- creating and reading ----------------------------------------------------------

    def create(
        self, *, user_id: str, epoch: int, amr: tuple[str, ...], acr: str, auth_time: float,
        second_factor_at: float | None, user_agent: str | None = None,
        address: str | None = None,
    ) -> tuple[SsoSession, SessionCookie]:
        now = self._clock()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        token_hash = _token_hash(token)
        session = SsoSession(
            sid=secrets.token_urlsafe(SID_BYTES), user_id=user_id, auth_time=auth_time,
            amr=amr, acr=acr, epoch=epoch, created=now, last_seen=now,
            second_factor_at=second_factor_at, browser=label_from_user_agent(user_agent),
            address=address, token_hash=token_hash,
        )
        self._store.set(_session_key(token_hash), self._dump(session), ttl=self._absolute_s)
        self._store.set(_sid_key(session.sid), token_hash.encode(), ttl=self._absolute_s)
        self._store.sadd(_user_sessions_key(user_id), session.sid)
        self._audit.emit("session.created", user_id=user_id, sid=session.sid, acr=acr,
                         amr=list(amr))
        cookie = SessionCookie(self.cookie_name, token, self._absolute_s, self._secure)
        return session, cookie

    def current(self, token: str | None, *, user_epoch: Callable[[str], int | None]) -> (
        SsoSession | None
    ):
        """The live session for the cookie ``token``, or ``None``. ``user_epoch`` gives the
        person's current security epoch (``None``: the account is gone or disabled)."""
        if not token or len(token) > 128:
            return None
        token_hash = _token_hash(token)
        session = self._load(token_hash)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_seen > self._idle_s or now - session.created > self._absolute_s:
            self.end(session, reason="expired")
            return None
        if user_epoch(session.user_id) != session.epoch:
            self.end(session, reason="epoch")
            return None
        if now - session.last_seen >= TOUCH_EVERY_S:
            session = replace(session, last_seen=now)
            remaining = max(1.0, self._absolute_s - (now - session.created))
            self._store.set(_session_key(token_hash), self._dump(session), ttl=remaining)
        return session

    def by_sid(self, sid: str) -> SsoSession | None:
        raw = self._store.get(_sid_key(sid))
        return None if raw is None else self._load(raw.decode())

    # -- changing ----------------------------------------------------------------------

    def update(self, session: SsoSession, **changes: Any) -> SsoSession | None:
        """Record a step-up (new amr/acr/second_factor_at) or a re-bind to a new epoch.

        Compare-and-set on the stored record: a session ended meanwhile (logout, expiry, an
        epoch check by another request) is never brought back; ``None`` says so."""
        key = _session_key(session.token_hash)
        for _ in range(_MAX_CAS_ATTEMPTS):
            raw = self._store.get(key)
            current = self._parse(raw, session.token_hash)
            if raw is None or current is None:
                return None
            updated = replace(current, **changes)
            remaining = max(1.0, self._absolute_s - (self._clock() - current.created))
            if self._store.cas(key, raw, self._dump(updated), ttl=remaining):
                return updated
        raise StoreError("the session kept changing; try again")

    def add_client(self, session: SsoSession, client_id: str) -> None:
        self._store.sadd(_clients_key(session.sid), client_id, ttl=self._absolute_s)

    def clients(self, sid: str) -> set[str]:
        return self._store.smembers(_clients_key(sid))

    def end(self, session: SsoSession, *, reason: str, actor: str = "system") -> set[str]:
        """End the session everywhere; returns the clients it served (for logout delivery)."""
        clients = self.clients(session.sid)
        self._store.delete(_session_key(session.token_hash))
        self._store.delete(_sid_key(session.sid))
        self._store.delete(_clients_key(session.sid))
        self._store.srem(_user_sessions_key(session.user_id), session.sid)
        self._audit.emit("session.ended", user_id=session.user_id, sid=session.sid,
                         reason=reason, actor=actor)
        return clients

    def end_all(self, user_id: str, *, reason: str, actor: str = "system") -> dict[str, set[str]]:
        """End every session of a person (operator reset, account deleted): sid -> clients."""
        ended: dict[str, set[str]] = {}
        for sid in self._store.smembers(_user_sessions_key(user_id)):
            session = self.by_sid(sid)
            if session is None:
                self._store.srem(_user_sessions_key(user_id), sid)
                continue
            ended[sid] = self.end(session, reason=reason, actor=actor)
        return ended

    def of_user(self, user_id: str) -> list[SsoSession]:
        """The person's sessions still stored, oldest first (an expired or older-epoch one
        may be among them until its next use ends it: compare ``epoch``)."""
        found = [self.by_sid(sid) for sid in self._store.smembers(_user_sessions_key(user_id))]
        return sorted((s for s in found if s is not None), key=lambda s: (s.created, s.sid))

    def clear_cookie(self) -> SessionCookie:
        return SessionCookie(self.cookie_name, "", 0, self._secure)

    # -- records -----------------------------------------------------------------------

    def _load(self, token_hash: str) -> SsoSession | None:
        return self._parse(self._store.get(_session_key(token_hash)), token_hash)

    @staticmethod
    def _parse(raw: bytes | None, token_hash: str) -> SsoSession | None:
        data = load_record(raw)
        if data is None:
            return None
        data.pop("v", None)
        data["amr"] = tuple(data["amr"])
        return SsoSession(**data, token_hash=token_hash)

    @staticmethod
    def _dump(session: SsoSession) -> bytes:
        data = asdict(session)
        data.pop("token_hash")
        return dump_record(data)
