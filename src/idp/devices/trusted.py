"""Trusted browsers: "don't require codes on this browser" (BEHAVIOUR T1-T5, C4, A1).

A trusted browser is a signed cookie (:mod:`idp.devices.cookies`) plus a server record,
``tb:<user id>:<device id>``, listed in the small set ``tb-set:<user id>``. The record is the
authority: every check reads it, so removing it ends the trust at once on every replica (T4).
A browser is trusted only if the cookie verifies, names this person, the record exists, is
unexpired, holds the SHA-256 of the cookie's nonce, and carries the person's current
security epoch, which every change of password, methods or recovery codes increments (C4).
A request for a fresh second factor does not consult the cookie at all (T5).

Framework-free: the web layer passes plain values (the cookie's value, the client's IP and
User-Agent) and sets the :class:`IssuedCookie` it gets back.
"""

from __future__ import annotations

import builtins
import hmac
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from idp.devices.cookies import (
    DEVICE_ID,
    DEVICE_ID_BYTES,
    NONCE_BYTES,
    CookieCodec,
    CookiePayload,
    CookieRejected,
    IssuedCookie,
)
from idp.devices.model import TrustedBrowser, TrustReason, TrustResult
from idp.devices.records import (
    Record,
    clean_ip,
    nonce_hash,
    record_key,
    record_prefix,
    set_key,
)
from idp.devices.useragent import label_from_user_agent
from idp.observability import Audit
from idp.settings import Settings
from idp.store import Store
from idp.users import User

__all__ = ["DEFAULT_MAX_PER_USER", "DEFAULT_WARN_ABOVE", "TrustedBrowsers"]

# A cap per person (issue: "default 10, oldest dropped"): bounds the record set and what a
# shared account can accumulate.
DEFAULT_MAX_PER_USER = 10
# A1: more trusted browsers than this on one account is flagged (settings page, `idp users
# show`). A computer, a phone and a tablet are ordinary; a fourth suggests sharing.
DEFAULT_WARN_ABOVE = 3
# Re-reads when the record changes between read and write (the same browser signing in on
# two replicas at once); it was valid at every read, so trust holds even if all are used.
_TOUCH_ATTEMPTS = 3


class TrustedBrowsers:
    """The trusted-browser service. One instance per process; safe across threads and
    replicas because all state is in the store.

    ``max_per_user``: the cap (the oldest is dropped). ``warn_above``: :meth:`many` is true
    above this many (A1). ``clock``: Unix time, replaceable so tests can travel in time; every
    method also takes ``now``.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        audit: Audit,
        *,
        max_per_user: int = DEFAULT_MAX_PER_USER,
        warn_above: int = DEFAULT_WARN_ABOVE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_per_user < 1 or warn_above < 0:
            raise ValueError("max_per_user must be at least 1 and warn_above at least 0")
        self._store = store
        self._audit = audit
        self._codec = CookieCodec(
            [key.get_secret_value() for key in settings.secrets.cookie_keys],
            secure=settings.server.secure,
        )
        self._lifetime = settings.lifetimes.trusted_browser_s
        self.max_per_user = max_per_user
        self.warn_above = warn_above
        self._clock = clock

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    # -- cookies -------------------------------------------------------------------------

    def cookie_name(self, user_id: str) -> str:
        """The name :meth:`trust` gives this person's cookie (newest key)."""
        return self._codec.name(user_id)

    def cookie_names(self, user_id: str) -> tuple[str, ...]:
        """Every name this person's cookie may have while keys rotate, newest first."""
        return self._codec.names(user_id)

    def find_cookie(self, user_id: str, cookies: Mapping[str, str]) -> str | None:
        """This person's cookie value among a request's ``cookies``, or ``None``."""
        for name in self._codec.names(user_id):
            if name in cookies:
                return cookies[name]
        return None

    def clear_cookies(self, user_id: str) -> builtins.list[IssuedCookie]:
        """Cookies that delete this person's trusted-browser cookie under every name: for a
        rejected cookie (so it is not presented, and audited, at every sign-in) and for
        "forget this browser"."""
        return [
            IssuedCookie(name=name, value="", max_age=0, secure=self._codec.secure)
            for name in self._codec.names(user_id)
        ]

    # -- trusting and checking -------------------------------------------------------------

    def trust(
        self, user: User, *, user_agent: str | None, ip: str | None, now: float | None = None
    ) -> IssuedCookie:
        """Trust this browser for ``user`` (T1: after a right code with the box ticked).

        Creates the record, enforces the cap, audits ``device.trusted``, and returns the
        cookie to set.
        """
        now = self._now(now)
        device_id = secrets.token_urlsafe(DEVICE_ID_BYTES)
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        expires = now + self._lifetime
        record = Record(
            device_id=device_id,
            user_id=user.id,
            nonce_sha256=nonce_hash(nonce),
            label=label_from_user_agent(user_agent),
            created=now,
            last_used=now,
            ip=clean_ip(ip),
            expires=expires,
            epoch=user.security_epoch,
        )
        # Member, record, member again: a listing that prunes a member whose record it did not
        # find (see _live) cannot leave this record out of the set, and a crash between the
        # writes leaves only a dangling member, never a valid record nobody can list.
        self._store.sadd(set_key(user.id), device_id, ttl=self._lifetime)
        self._store.set(record_key(user.id, device_id), record.dump(), ttl=self._lifetime)
        self._store.sadd(set_key(user.id), device_id, ttl=self._lifetime)
        self._audit.emit(
            "device.trusted", user_id=user.id, device_id=device_id, label=record.label,
            ip=record.ip,
        )
        self._enforce_cap(user, keep=device_id, now=now)
        payload = CookiePayload(
            device_id=device_id, user_id=user.id, nonce=nonce, expires=math.ceil(expires)
        )
        return IssuedCookie(
            name=self._codec.name(user.id),
            value=self._codec.dumps(payload),
            max_age=self._lifetime,
            secure=self._codec.secure,
        )

    def check(
        self,
        user: User,
        cookie_value: str | None,
        *,
        fresh_2sv_required: bool,
        ip: str | None,
        user_agent: str | None = None,
        now: float | None = None,
    ) -> TrustResult:
        """Whether this sign-in of ``user`` may skip the code because the browser is trusted.

        ``fresh_2sv_required``: the client asked for a fresh second factor (``acr_values``
        demanding a code, ``max_age``): the cookie is ignored (T5). Every rejection other than
        no cookie or T5 emits ``device.rejected`` with the reason (T4). Success records the
        time and IP (T2: a new IP keeps the trust). ``user_agent`` only labels audit events.
        """
        if fresh_2sv_required:
            return TrustResult(TrustReason.FRESH_2SV_REQUIRED)
        if not cookie_value:
            return TrustResult(TrustReason.ABSENT)
        now = self._now(now)
        seen: dict[str, Any] = {"ip": clean_ip(ip), "user_agent": user_agent}
        try:
            payload = self._codec.loads(cookie_value)
        except CookieRejected as exc:
            return self._reject(user, exc.reason, **seen)
        device_id = payload.device_id
        if not hmac.compare_digest(payload.user_id.encode(), user.id.encode()):
            return self._reject(
                user, TrustReason.OTHER_USER, device_id=device_id,
                presented_user_id=payload.user_id, **seen,
            )
        if payload.expires <= now:
            return self._reject(user, TrustReason.EXPIRED, device_id=device_id, **seen)
        key = record_key(user.id, device_id)
        for _ in range(_TOUCH_ATTEMPTS):
            raw = self._store.get(key)
            record = Record.load(raw)
            reason = self._invalid(record, user, payload, now)
            if reason is not None:
                return self._reject(user, reason, device_id=device_id, **seen)
            assert record is not None  # _invalid said UNKNOWN otherwise
            touched = replace(record, last_used=now, ip=clean_ip(ip))
            # Compare-and-set, never a blind write: a removal racing with this check must not
            # be undone by it (T4).
            if self._store.cas(key, raw, touched.dump(), ttl=record.expires - now):
                break
        return TrustResult(TrustReason.TRUSTED, device_id)

    def _invalid(
        self, record: Record | None, user: User, payload: CookiePayload, now: float
    ) -> TrustReason | None:
        if record is None or not hmac.compare_digest(record.user_id.encode(), user.id.encode()):
            return TrustReason.UNKNOWN
        if record.expires <= now:
            self._remove_dead(user.id, record.device_id)
            return TrustReason.EXPIRED
        if not hmac.compare_digest(
            record.nonce_sha256.encode(), nonce_hash(payload.nonce).encode()
        ):
            return TrustReason.NONCE_MISMATCH
        if record.epoch != user.security_epoch:
            # Epochs only grow: an older one can never count again. A newer one means the
            # caller holds a stale User; leave that record alone.
            if record.epoch < user.security_epoch:
                self._remove_dead(user.id, record.device_id)
            return TrustReason.EPOCH
        return None

    def _reject(
        self,
        user: User,
        reason: TrustReason,
        *,
        ip: str | None,
        user_agent: str | None,
        device_id: str | None = None,
        **extra: str,
    ) -> TrustResult:
        fields: dict[str, Any] = {"reason": reason.value, **extra}
        if device_id is not None:
            fields["device_id"] = device_id
        if ip is not None:
            fields["ip"] = ip
        if user_agent:
            fields["label"] = label_from_user_agent(user_agent)
        self._audit.emit("device.rejected", user_id=user.id, **fields)
        return TrustResult(reason, device_id)

    # -- listing ---------------------------------------------------------------------------

    def _live(self, user: User, now: float) -> builtins.list[Record]:
        """This person's valid records, pruning dead ones on the way."""
        members = set_key(user.id)
        records = []
        for device_id in self._store.smembers(members):
            key = record_key(user.id, device_id)
            record = Record.load(self._store.get(key))
            if record is None:
                # Removed or expired. Re-read after removing the member: a trust() that wrote
                # the record in between gets its member back.
                self._store.srem(members, device_id)
                if self._store.get(key) is not None:
                    self._store.sadd(members, device_id)
                continue
            if record.expires <= now or record.epoch < user.security_epoch:
                self._remove_dead(user.id, device_id)
                continue
            if record.epoch == user.security_epoch:
                records.append(record)
        return records

    def _remove_dead(self, user_id: str, device_id: str) -> None:
        """Delete a record that can never be valid again (expired, older epoch)."""
        self._store.delete(record_key(user_id, device_id))
        self._store.srem(set_key(user_id), device_id)

    def list(self, user: User, *, now: float | None = None) -> builtins.list[TrustedBrowser]:
        """This person's trusted browsers, newest first (T3). Each ``name`` is unique in the
        list: equal labels get "(1)", "(2)"... in the order they were added."""
        records = sorted(self._live(user, self._now(now)), key=lambda r: (r.created, r.device_id))
        by_label: dict[str, int] = {}
        for record in records:
            by_label[record.label] = by_label.get(record.label, 0) + 1
        seen: dict[str, int] = {}
        browsers = []
        for record in records:
            name = record.label
            if by_label[record.label] > 1:
                seen[record.label] = seen.get(record.label, 0) + 1
                name = f"{record.label} ({seen[record.label]})"
            browsers.append(
                TrustedBrowser(
                    device_id=record.device_id,
                    label=record.label,
                    name=name,
                    created=record.created,
                    last_used=record.last_used,
                    ip=record.ip,
                    expires=record.expires,
                )
            )
        browsers.reverse()
        return browsers

    def count(self, user: User, *, now: float | None = None) -> int:
        """How many browsers skip the code for this person ("2 browsers don't require a
        code", T3)."""
        return len(self._live(user, self._now(now)))

    def many(self, user: User, *, now: float | None = None) -> bool:
        """Flag the account on the settings page and in ``idp users show`` (A1)."""
        return self.count(user, now=now) > self.warn_above

    def _enforce_cap(self, user: User, *, keep: str, now: float) -> None:
        records = self._live(user, now)
        excess = len(records) - self.max_per_user
        if excess <= 0:
            return
        oldest = sorted(
            (r for r in records if r.device_id != keep), key=lambda r: (r.created, r.device_id)
        )
        for record in oldest[:excess]:
            self.revoke(user.id, record.device_id, actor="system", reason="cap")

    # -- removing --------------------------------------------------------------------------

    def revoke(
        self, user_id: str, device_id: str, actor: str, *, reason: str = "removed"
    ) -> bool:
        """Remove one trusted browser of ``user_id``; effective at once everywhere (T3, T4).
        ``False`` if there was none by that id for this person."""
        if not DEVICE_ID.fullmatch(device_id):
            return False
        record = Record.load(self._store.take(record_key(user_id, device_id)))
        self._store.srem(set_key(user_id), device_id)
        if record is None:
            return False
        self._audit.emit(
            "device.revoked", user_id=user_id, device_id=device_id, label=record.label,
            actor=actor, reason=reason,
        )
        return True

    def revoke_all(self, user_id: str, actor: str, *, reason: str = "removed") -> int:
        """Remove every trusted browser of ``user_id`` ("remove all", T3); returns how many.

        Besides the set's members it scans for records (admin-speed, rare): a record that
        somehow lost its member is removed too."""
        prefix = record_prefix(user_id)
        device_ids = set(self._store.smembers(set_key(user_id)))
        for key in self._store.scan(prefix):
            rest = key.removeprefix(prefix)
            # A user id containing ":" must not make another person's keys match.
            if DEVICE_ID.fullmatch(rest):
                device_ids.add(rest)
        removed = sum(
            1 for device_id in device_ids if self._store.delete(record_key(user_id, device_id))
        )
        self._store.delete(set_key(user_id))
        self._audit.emit(
            "device.revoked_all", user_id=user_id, count=removed, actor=actor, reason=reason
        )
        return removed

    def on_security_change(
        self, user_id: str, *, reason: str = "security_change", actor: str = "system"
    ) -> int:
        """Call after every change of password, methods or recovery codes (C4). The epoch
        check already refuses older cookies; deleting the records keeps listings honest."""
        return self.revoke_all(user_id, actor=actor, reason=reason)
