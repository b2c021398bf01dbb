"""Audit events become counts: one hook, so metrics and the audit log agree one to one.

Every label value is taken from a closed set (:class:`Labels`). Nothing identifying a person
(user id, email, phone number, address) is ever read from an event here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from idp.metrics.instruments import Instruments
from idp.observability import AuditEvent, current_request
from idp.settings import Settings

__all__ = ["AuditCounter", "Labels", "build_info"]

log = logging.getLogger("idp.metrics")

OTHER = "other"
NONE = "none"
ALL_CLIENTS = "all"

# Method error codes (idp.methods.errors) -> the funnel's reasons.
_REASONS = {
    "wrong_code": "invalid_code",
    "code_expired": "expired",
    "too_many_tries": "locked",
    "method_disabled": "locked",
    "resend_too_soon": "rate_limited",
    "budget_exhausted": "rate_limited",
    "delivery_failed": "transport_error",
}
# Trusted-browser refusals (idp.devices.model.TrustReason) -> expired, invalid, revoked.
_DEVICE_REFUSALS = {
    "expired": "expired",
    "malformed": "invalid",
    "forged": "invalid",
    "other_user": "invalid",
    "nonce_mismatch": "invalid",
    "unknown": "revoked",
    "epoch": "revoked",
}
_GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials"})
_STORES = {"sqlite": "sqlite", "redis": "redis", "rediss": "redis",
           "redis+sentinel": "redis-sentinel", "rediss+sentinel": "redis-sentinel",
           "redis+cluster": "redis-cluster", "rediss+cluster": "redis-cluster"}
# Audit event names are written in code, not taken from input; the cap is a second guard.
_MAX_EVENT_NAMES = 300
_CLIENT_CACHE_S = 60.0
_MAX_CLIENT_CACHE = 10_000


def store_backend(settings: Settings) -> str:
    return _STORES.get(settings.store.url.split("://", 1)[0], OTHER)


def build_info(metrics: Instruments, settings: Settings) -> None:
    try:
        running = version("nidan")
    except PackageNotFoundError:
        running = "unknown"
    metrics.build_info.labels(running, store_backend(settings)).set(1)


class Labels:
    """Closed sets for label values, from the configuration (and the registered clients)."""

    def __init__(self, settings: Settings) -> None:
        self.per_client = settings.metrics.per_client_labels
        self.methods = frozenset(settings.methods)
        self.transports = frozenset(settings.delivery.transports)
        self.currency = settings.metrics.currency
        self.prices: Mapping[str, Mapping[str, float]] = {
            "sms": settings.metrics.sms_prices, "voice": settings.metrics.voice_prices,
        }
        self._client_exists: Callable[[str], bool] | None = None
        self._known: dict[str, float] = {}

    def bind_clients(self, exists: Callable[[str], bool]) -> None:
        """How to tell a registered client (the app's services, once they exist)."""
        self._client_exists = exists

    def client(self, client_id: Any) -> str:
        if not self.per_client:
            return ALL_CLIENTS
        if not client_id or not isinstance(client_id, str):
            return NONE
        now = time.monotonic()
        seen = self._known.get(client_id)
        if seen is not None and now - seen < _CLIENT_CACHE_S:
            return client_id
        exists = self._client_exists
        try:
            known = exists is not None and exists(client_id)
        except Exception:  # the store is away: don't guess, and don't fail the request
            known = False
        if not known:
            return OTHER
        if len(self._known) >= _MAX_CLIENT_CACHE:
            self._known.clear()
        self._known[client_id] = now
        return client_id

    def method(self, method_id: Any) -> str:
        if not method_id:
            return NONE
        return method_id if method_id in self.methods else OTHER

    def transport(self, instance: Any) -> str:
        return instance if instance in self.transports else OTHER

    @staticmethod
    def channel(value: Any) -> str:
        return value if value in ("sms", "voice", "email") else OTHER

    @staticmethod
    def country(value: Any) -> str:
        # From idp.delivery.units.calling_code: an assigned calling code, or "other".
        return value if isinstance(value, str) and value.isdigit() and len(value) <= 3 else OTHER

    def price(self, channel: str, country: str) -> float:
        table = self.prices.get(channel, {})
        return table.get(country, table.get("default", 0.0))


class AuditCounter:
    """The audit hook. It never raises: a metric must not break what it counts."""

    def __init__(self, metrics: Instruments, labels: Labels) -> None:
        self.m = metrics
        self.labels = labels
        self._names: set[str] = set()
        self._handlers: dict[str, Callable[[AuditEvent], None]] = {
            "login.password.succeeded": self._password_ok,
            "login.password.failed": self._password_failed,
            "login.throttled": self._throttled,
            "login.locked": self._locked,
            "method.challenge.sent": self._challenge_sent,
            "method.challenge.failed": self._challenge_failed,
            "method.verify.succeeded": self._verify_ok,
            "method.verify.failed": self._verify_failed,
            "method.disabled": self._method_disabled,
            "oidc.consent_given": self._consent_given,
            "oidc.consent_refused": self._consent_refused,
            "oidc.code_issued": self._code_issued,
            "login.succeeded": self._signed_in,
            "device.trusted": self._device_trusted,
            "login.trusted_browser": self._device_accepted,
            "device.rejected": self._device_rejected,
            "oidc.token_issued": self._token_issued,
            "delivery.sent": self._delivery,
            "delivery.failed": self._delivery,
            "oidc.backchannel_delivered": self._backchannel,
            "oidc.backchannel_failed": self._backchannel,
            "oidc.backchannel_abandoned": self._backchannel,
        }

    def __call__(self, event: AuditEvent) -> None:
        try:
            name = event.get("event")
            if not isinstance(name, str):
                return
            if name not in self._names:
                if len(self._names) >= _MAX_EVENT_NAMES:
                    name = OTHER
                else:
                    self._names.add(name)
            self.m.child(self.m.audit_events, name).inc()
            handler = self._handlers.get(name)
            if handler is not None:
                handler(event)
        except Exception as exc:
            log.error("metrics: audit event not counted: %s", type(exc).__name__)

    # -- the funnel ----------------------------------------------------------------------

    def _client(self, event: AuditEvent) -> str:
        client_id = event.get("client_id")
        if client_id is None:
            context = current_request()
            client_id = context.client_id if context is not None else None
        return self.labels.client(client_id)

    def _step(self, event: AuditEvent, step: str, outcome: str, reason: str = NONE,
              method: str = NONE) -> None:
        self.m.child(self.m.signin_steps, self._client(event), step, method, outcome, reason).inc()

    def _password_ok(self, event: AuditEvent) -> None:
        self._step(event, "password", "success")

    def _password_failed(self, event: AuditEvent) -> None:
        self._step(event, "password", "failure", "invalid_credentials")

    def _throttled(self, event: AuditEvent) -> None:
        locked = event.get("kind") in ("locked", "stopped")
        self._step(event, "password", "failure", "locked" if locked else "rate_limited")

    def _locked(self, event: AuditEvent) -> None:
        # "locked": the account from this address (S4); "stopped": the account everywhere.
        if event.get("kind") == "stopped":
            self.m.child(self.m.lockouts, "account", "hard_stop").inc()
        else:
            self.m.child(self.m.lockouts, "account_ip", "password_failures").inc()

    def _method_disabled(self, event: AuditEvent) -> None:
        self.m.child(self.m.lockouts, "method", "code_failures").inc()

    def _reason(self, event: AuditEvent) -> str:
        return _REASONS.get(str(event.get("error_code")), OTHER)

    def _challenge_sent(self, event: AuditEvent) -> None:
        if event.get("purpose") == "sign-in":
            self._step(event, "second_factor_challenge", "success",
                       method=self.labels.method(event.get("method")))

    def _challenge_failed(self, event: AuditEvent) -> None:
        self._step(event, "second_factor_challenge", "failure", self._reason(event),
                   self.labels.method(event.get("method")))

    def _verify_ok(self, event: AuditEvent) -> None:
        self._step(event, "second_factor_verify", "success",
                   method=self.labels.method(event.get("method")))

    def _verify_failed(self, event: AuditEvent) -> None:
        self._step(event, "second_factor_verify", "failure", self._reason(event),
                   self.labels.method(event.get("method")))

    def _consent_given(self, event: AuditEvent) -> None:
        self._step(event, "consent", "success")

    def _consent_refused(self, event: AuditEvent) -> None:
        self._step(event, "consent", "failure", "refused")

    def _code_issued(self, event: AuditEvent) -> None:
        self._step(event, "code_issued", "success")

    def _signed_in(self, event: AuditEvent) -> None:
        duration = event.get("duration_s")
        if not isinstance(duration, (int, float)):
            return
        if event.get("recovery"):
            method = "recovery_code"
        elif event.get("trusted_browser"):
            method = "trusted_browser"
        else:
            method = self.labels.method(event.get("method"))
        self.m.child(self.m.signin_duration, method).observe(max(0.0, float(duration)))

    # -- trusted browsers, tokens ----------------------------------------------------------

    def _device_trusted(self, event: AuditEvent) -> None:
        self.m.child(self.m.trusted_browsers, "issued", NONE).inc()

    def _device_accepted(self, event: AuditEvent) -> None:
        self.m.child(self.m.trusted_browsers, "accepted", NONE).inc()

    def _device_rejected(self, event: AuditEvent) -> None:
        reason = _DEVICE_REFUSALS.get(str(event.get("reason")), OTHER)
        self.m.child(self.m.trusted_browsers, "refused", reason).inc()

    def _token_issued(self, event: AuditEvent) -> None:
        grant = event.get("grant_type")
        self.m.child(self.m.tokens_issued,
                     self._client(event), grant if grant in _GRANT_TYPES else OTHER).inc()

    # -- deliveries --------------------------------------------------------------------------

    def _delivery(self, event: AuditEvent) -> None:
        labels = self.labels
        transport = labels.transport(event.get("instance"))
        channel = labels.channel(event.get("channel"))
        country = labels.country(event.get("country"))
        sent = event["event"] == "delivery.sent"
        outcome = "sent" if sent else "failed"
        self.m.child(self.m.deliveries, transport, channel, country, outcome).inc()
        duration = event.get("duration_s")
        if isinstance(duration, (int, float)):
            self.m.child(self.m.delivery_duration, transport, channel).observe(float(duration))
        units = event.get("units")
        if sent and isinstance(units, int) and units > 0:
            self.m.child(self.m.delivery_units, transport, channel, country).inc(units)
            price = labels.price(channel, country)
            if price:
                self.m.child(self.m.delivery_cost, transport, channel, country,
                             labels.currency).inc(units * price)

    def _backchannel(self, event: AuditEvent) -> None:
        outcome = {"oidc.backchannel_delivered": "delivered",
                   "oidc.backchannel_failed": "retry"}.get(event["event"], "gave_up")
        self.m.child(self.m.backchannel, self._client(event), outcome).inc()
        duration = event.get("duration_s")
        if isinstance(duration, (int, float)):
            self.m.backchannel_duration.observe(float(duration))
