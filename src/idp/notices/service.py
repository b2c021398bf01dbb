"""Security notices by email: the audit listener that queues them, the worker that sends them.

Sending never blocks or fails a sign-in. The listener (called inside ``Audit.emit``, on the
thread that did the work) only writes a small record to the store; any error in it is logged
by type and swallowed. A background task that every replica runs (started in the app's
lifespan, like back-channel logout) looks for due notices every ``poll_s``, claims each with
``Store.add`` so one replica sends it, renders it in the person's language and hands it to
the ``[notifications] email`` transports in order. A failure is retried with exponential
backoff (``retry_base_s`` doubling up to ``retry_max_s``) until ``give_up_s``; each attempt is
audited (``notice.sent``, ``notice.failed``, ``notice.abandoned``). Per person at most
``cap_per_window`` notices are queued in ``cap_window_s``; the rest are dropped and audited
(``notice.capped``), so nobody can flood an inbox by failing sign-ins.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool

from idp.delivery import Capability, DeliveryError, EmailMessage
from idp.delivery.registry import Delivery
from idp.devices.useragent import label_from_user_agent
from idp.notices.activity import Activity
from idp.notices.context import current_request, rough_network
from idp.notices.kinds import LEADS, METHOD_NAMES, SUBJECTS, Kind, kind_of
from idp.notices.links import Links
from idp.observability import Audit, AuditEvent
from idp.settings import Settings
from idp.store import Store, StoreError, dump_record, load_record
from idp.users import Accounts, InvalidEmail, User, normalise_email
from idp.users.password_change import (
    clear_password_change,
    password_change_required,
    require_password_change,
)
from idp.web.i18n import LocaleCode

if TYPE_CHECKING:
    from idp.web.templating import Templates

__all__ = ["REPORT_PATH", "REPORT_PURPOSE", "VERIFY_PATH", "VERIFY_PURPOSE", "Notices"]

REPORT_PATH: Final = "/account/not-me"
VERIFY_PATH: Final = "/email/verify"
REPORT_PURPOSE: Final = "report"
VERIFY_PURPOSE: Final = "verify"

_PENDING: Final = "notice:"
_INDEX: Final = "notice-pending"
_CLAIM: Final = "notice-claim:"
_CAP: Final = "notice-cap:"
_KNOWN: Final = "known-browsers:"
_VERIFY_SENT: Final = "verify-sent:"
# A person keeps at most this many known browsers; beyond it an arbitrary old one goes.
_MAX_KNOWN_BROWSERS: Final = 50
_KNOWN_KEEP_S: Final = 400 * 24 * 3600.0
# A person asking for another verification mail waits this long between two.
_RESEND_VERIFY_S: Final = 60.0

logger = logging.getLogger("idp.notices")


def _browser_hash(browser_id: str) -> str:
    # 144 random bits: a plain SHA-256 is enough, nothing to brute-force.
    return hashlib.sha256(browser_id.encode()).hexdigest()[:32]


class Notices:
    def __init__(self, settings: Settings, store: Store, audit: Audit, accounts: Accounts,
                 delivery: Delivery, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._config = settings.notifications
        self._store = store
        self._audit = audit
        self._accounts = accounts
        self._delivery = delivery
        self._clock = clock
        self.links = Links([k.get_secret_value() for k in settings.secrets.cookie_keys], store)
        self.activity = Activity(store, kept=self._config.activity_kept, clock=clock)

    @property
    def enabled(self) -> bool:
        """Some transport can send email (``[notifications] email`` is not empty)."""
        return Capability.EMAIL in self._delivery.channels

    # -- the audit listener -----------------------------------------------------------------

    def on_audit(self, event: AuditEvent) -> None:
        """Called for every audit event. Never raises: a notice must not fail what it is
        about."""
        try:
            self._on_audit(event)
        except Exception as exc:
            logger.warning("notice for %s not queued: %s", event.get("event"),
                           type(exc).__name__)

    def _on_audit(self, event: AuditEvent) -> None:
        name = str(event.get("event", ""))
        user_id = event.get("user_id")
        if not isinstance(user_id, str) or name.startswith("notice."):
            return
        info = current_request()
        label = label_from_user_agent(info.user_agent) if info and info.user_agent else None
        network = rough_network(info.ip) if info else None
        at = float(event.get("at") or self._clock())
        if name == "login.succeeded":
            new = self._seen_browser(user_id)
            self.activity.add(user_id, "new_browser" if new else "signed_in", label=label,
                              network=network, at=at)
            if new:
                self.notify(user_id, Kind.NEW_BROWSER, at=at, label=label, network=network)
            self._verify_at_sign_in(user_id)
            return
        if name == "user.updated" and "verified_email" in (event.get("fields") or []):
            self.activity.add(user_id, "email_verified", label=label, network=network, at=at)
            return
        kind = kind_of(event)
        if kind is None:
            return
        if kind is Kind.PASSWORD_CHANGED:
            clear_password_change(self._store, user_id)
        self.activity.add(user_id, kind.value, label=label, network=network, at=at)
        method = event.get("method")
        self.notify(user_id, kind, at=at, label=label, network=network,
                    method=method if isinstance(method, str) else None)

    def _seen_browser(self, user_id: str) -> bool:
        """Record this browser as known to the person; ``True`` if it is new to them and
        they had signed in elsewhere before (the very first browser is not news)."""
        info = current_request()
        if info is None:
            return False
        digest = _browser_hash(info.ensure_browser_id())
        key = _KNOWN + user_id
        known = self._store.smembers(key)
        if digest in known:
            return False
        if len(known) >= _MAX_KNOWN_BROWSERS:
            self._store.srem(key, *sorted(known)[: len(known) - _MAX_KNOWN_BROWSERS + 1])
        self._store.sadd(key, digest, ttl=_KNOWN_KEEP_S)
        return bool(known)

    # -- queueing ---------------------------------------------------------------------------

    def forget(self, user_id: str) -> None:
        """A deleted person's recent activity and known browsers go with the account."""
        self.activity.forget(user_id)
        self._store.delete(_KNOWN + user_id)

    def notify(self, user_id: str, kind: Kind, *, at: float | None = None,
               label: str | None = None, network: str | None = None,
               method: str | None = None, to: str | None = None,
               address: str | None = None) -> str | None:
        """Queue one notice; returns its id, or ``None`` when none is sent (email off, the
        event switched off, the person unknown, or over the cap)."""
        if not self.enabled:
            return None
        if kind is not Kind.VERIFY_EMAIL and not getattr(self._config.events, kind.value, True):
            return None
        user = self._accounts.get(user_id)
        if user is None:
            return None
        count = self._store.incr(_CAP + user_id, ttl=self._config.cap_window_s)
        if count > self._config.cap_per_window:
            self._audit.emit("notice.capped", user_id=user_id, kind=kind.value, count=count)
            return None
        now = self._clock()
        notice_id = secrets.token_urlsafe(16)
        record = {"user_id": user_id, "kind": kind.value, "to": to or user.email,
                  "locale": user.locale, "at": at if at is not None else now, "label": label,
                  "network": network, "method": method, "address": address,
                  "created_at": now, "attempts": 0, "next_at": now}
        self._store.set(_PENDING + notice_id, dump_record(record), ttl=self._keep_s())
        self._store.sadd(_INDEX, notice_id)
        self._audit.emit("notice.queued", user_id=user_id, kind=kind.value,
                         notice_id=notice_id)
        return notice_id

    def pending(self) -> int:
        return len(self._store.smembers(_INDEX))

    # -- email verification -----------------------------------------------------------------

    def send_verification(self, user: User, *, resend: bool = False) -> bool:
        """Mail a link that proves ``user.email``; ``False`` if already verified or one was
        sent moments ago."""
        if user.email_verified or not self.enabled:
            return False
        try:
            address = normalise_email(user.email)
        except InvalidEmail:
            return False
        guard = _RESEND_VERIFY_S if resend else float(self._config.verify_link_s)
        if not self._store.add(_VERIFY_SENT + user.id, b"1", ttl=guard):
            return False
        return self.notify(user.id, Kind.VERIFY_EMAIL, address=address) is not None

    def change_email(self, user_id: str, email: str, *, actor: str) -> User:
        """Change the address (``Accounts.change_email``), tell the old address, and send
        the new one a confirmation link. Raises what ``change_email`` raises."""
        before = self._accounts.get(user_id)
        updated = self._accounts.change_email(user_id, email, actor=actor)
        if before is not None and before.email != updated.email:
            info = current_request()
            self.activity.add(user_id, "email_changed", label=None,
                              network=rough_network(info.ip) if info else None)
            self.notify(user_id, Kind.EMAIL_CHANGED, to=before.email)
            self._store.delete(_VERIFY_SENT + user_id)
            self.send_verification(updated)
        return updated

    def _verify_at_sign_in(self, user_id: str) -> None:
        user = self._accounts.get(user_id)
        if user is not None and not user.email_verified:
            self.send_verification(user)

    def confirm_verification(self, user_id: str, address: str) -> bool:
        """The link for ``address`` was used: verified if it is still the person's address."""
        user = self._accounts.get(user_id)
        if user is None:
            return False
        try:
            current = normalise_email(user.email)
        except InvalidEmail:
            return False
        if current != address:
            return False
        if not user.email_verified:
            self._accounts.update(user_id, actor="user", verified_email=address)
        self._store.delete(_VERIFY_SENT + user_id)
        return True

    # -- "this wasn't me": the password change at the next sign-in ---------------------------

    def require_password_change(self, user_id: str) -> None:
        require_password_change(self._store, user_id)

    def password_change_required(self, user_id: str) -> bool:
        return password_change_required(self._store, user_id)

    # -- sending ----------------------------------------------------------------------------

    def deliver_due(self, templates: Templates) -> int:
        """Send every due notice once; returns how many were handed over. Synchronous."""
        delivered = 0
        for notice_id in sorted(self._store.smembers(_INDEX)):
            delivered += self._attempt(notice_id, templates)
        return delivered

    async def run(self, templates: Templates) -> None:
        """The background task: send what is due, forever (cancelled at shutdown)."""
        while True:
            try:
                await run_in_threadpool(self.deliver_due, templates)
            except StoreError as exc:
                logger.warning("notices: store unavailable: %s", type(exc).__name__)
            except Exception as exc:  # never let the loop die
                logger.error("notices: unexpected %s", type(exc).__name__)
            await asyncio.sleep(self._config.poll_s)

    def _keep_s(self) -> float:
        return self._config.give_up_s + 3600.0

    def _finish(self, notice_id: str) -> None:
        self._store.delete(_PENDING + notice_id)
        self._store.srem(_INDEX, notice_id)

    def _attempt(self, notice_id: str, templates: Templates) -> int:
        raw = self._store.get(_PENDING + notice_id)
        record = load_record(raw)
        if record is None:
            self._store.srem(_INDEX, notice_id)
            return 0
        now = self._clock()
        if record["next_at"] > now:
            return 0
        if now - record["created_at"] > self._config.give_up_s:
            self._finish(notice_id)
            self._audit.emit("notice.abandoned", user_id=record["user_id"],
                             kind=record["kind"], attempts=record["attempts"])
            return 0
        # One replica per attempt; the claim lapses on its own if this process dies.
        if not self._store.add(_CLAIM + notice_id, b"1", ttl=120.0):
            return 0
        try:
            try:
                receipt = self._delivery.send_email(self.message(notice_id, record, templates))
            except DeliveryError as exc:
                attempts = record["attempts"] + 1
                delay = min(self._config.retry_max_s,
                            self._config.retry_base_s * 2 ** (attempts - 1))
                record.update(attempts=attempts, next_at=now + delay)
                record.pop("v", None)
                self._store.cas(_PENDING + notice_id, raw, dump_record(record),
                                ttl=self._keep_s())
                self._audit.emit("notice.failed", user_id=record["user_id"],
                                 kind=record["kind"], attempts=attempts,
                                 retry_in_s=round(delay, 3),
                                 reasons=[failure.reason for failure in exc.failures])
                return 0
            self._finish(notice_id)
            self._audit.emit("notice.sent", user_id=record["user_id"], kind=record["kind"],
                             attempts=record["attempts"] + 1, instance=receipt.transport)
            return 1
        finally:
            self._store.delete(_CLAIM + notice_id)

    def message(self, notice_id: str, record: dict[str, Any], templates: Templates
                ) -> EmailMessage:
        """The notice as a mail in the person's language, its one-time link issued now."""
        kind = Kind(record["kind"])
        locale: LocaleCode = "en" if record.get("locale") == "en" else "ja"
        issuer = self.settings.server.issuer
        service = self.settings.ui.service_name
        if kind is Kind.VERIFY_EMAIL:
            token = self.links.issue(VERIFY_PURPOSE, record["user_id"], notice_id,
                                     ttl=self._config.verify_link_s,
                                     value=str(record.get("address") or ""))
            link = f"{issuer}{VERIFY_PATH}?t={token}"
            link_hours = self._config.verify_link_s // 3600
        else:
            token = self.links.issue(REPORT_PURPOSE, record["user_id"], notice_id,
                                     ttl=self._config.report_link_s)
            link = f"{issuer}{REPORT_PATH}?t={token}"
            link_hours = self._config.report_link_s // 3600
        method = record.get("method")
        context = {
            "lang": locale,
            "kind": kind.value,
            "subject": SUBJECTS[kind],
            "lead": LEADS[kind],
            "when": self.format_time(float(record["at"]), locale),
            "label": record.get("label"),
            "network": record.get("network"),
            "method_name": METHOD_NAMES.get(method) if isinstance(method, str) else None,
            "link": link,
            "link_hours": max(1, link_hours),
            "account_url": f"{issuer}/account",
            "verify": kind is Kind.VERIFY_EMAIL,
        }
        text = templates.render_string("mail/notice.txt", context, locale=locale)
        html = templates.render_string("mail/notice.html", context, locale=locale)
        subject = f"[{service}] " + templates.catalogues.gettext(locale, SUBJECTS[kind])
        return EmailMessage(to=record["to"], subject=subject, text=text, html=html,
                            locale=locale,
                            headers=(("Auto-Submitted", "auto-generated"),
                                     ("X-Auto-Response-Suppress", "All")))

    def format_time(self, at: float, locale: str) -> str:
        moment = datetime.fromtimestamp(at, ZoneInfo(self._config.timezone))
        zone = moment.strftime("%Z")
        if locale == "ja":
            return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M} ({zone})"
        return f"{moment:%d %b %Y, %H:%M} ({zone})"
