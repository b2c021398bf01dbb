"""Every metric Nidan exports, defined once. Imported only when metrics are enabled, after
``PROMETHEUS_MULTIPROC_DIR`` is set (prometheus-client picks its storage at first use).

Labels come from closed sets only (see :class:`Labels`): a client id that is not registered
is ``other``, a method or transport that is not configured is ``other``; never a user id,
an email, a phone number or an address. docs/observability.md lists every metric.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["Instruments"]

# Seconds. 0.25 s is the latency objective of /token and /authorize (rules.yaml).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PASSWORD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SIGNIN_BUCKETS = (2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 900.0)


class Instruments:
    """The metric objects of this process (one instance, made by :func:`idp.metrics.enable`)."""

    def __init__(self) -> None:
        # Label children by (metric, values): ``labels()`` costs several times an ``inc()``,
        # and every value comes from a closed set, so this stays small.
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.build_info = Gauge(
            "nidan_build_info", "Always 1: the running version and store backend.",
            ["version", "store"], multiprocess_mode="livemax")
        self.http_duration = Histogram(
            "nidan_http_request_duration_seconds",
            "HTTP requests by route template, method and status class; _count is requests.",
            ["route", "method", "status"], buckets=HTTP_BUCKETS)
        self.signin_steps = Counter(
            "nidan_signin_steps_total",
            "Sign-in funnel steps by client, second-factor method, outcome and reason.",
            ["client", "step", "method", "outcome", "reason"])
        self.signin_duration = Histogram(
            "nidan_signin_duration_seconds",
            "From the start of a sign-in to its session, by the method that completed it.",
            ["method"], buckets=SIGNIN_BUCKETS)
        self.deliveries = Counter(
            "nidan_code_deliveries_total",
            "One-time-code deliveries (one per transport tried) by transport, channel, "
            "country calling code and outcome.",
            ["transport", "channel", "country", "outcome"])
        self.delivery_duration = Histogram(
            "nidan_code_delivery_duration_seconds",
            "Time a transport took to accept (or refuse) one message.",
            ["transport", "channel"], buckets=SLOW_BUCKETS)
        self.delivery_units = Counter(
            "nidan_code_delivery_units_total",
            "Billable units handed to gateways (SMS segments, calls).",
            ["transport", "channel", "country"])
        self.delivery_cost = Counter(
            "nidan_code_delivery_cost_total",
            "Estimated cost of accepted deliveries from the operator's price table.",
            ["transport", "channel", "country", "currency"])
        self.lockouts = Counter(
            "nidan_lockouts_total", "Locks imposed, by scope and what triggered them.",
            ["scope", "trigger"])
        self.trusted_browsers = Counter(
            "nidan_trusted_browsers_total",
            "Trusted-browser cookies issued, accepted and refused (with the refusal reason).",
            ["event", "reason"])
        self.tokens_issued = Counter(
            "nidan_tokens_issued_total", "Token responses by client and grant type.",
            ["client", "grant_type"])
        self.token_errors = Counter(
            "nidan_token_errors_total", "Token endpoint errors by RFC 6749 error code.",
            ["error"])
        self.backchannel = Counter(
            "nidan_backchannel_logout_deliveries_total",
            "Back-channel logout attempts by client and outcome (delivered, retry, gave_up).",
            ["client", "outcome"])
        self.backchannel_duration = Histogram(
            "nidan_backchannel_logout_attempt_duration_seconds",
            "Time of one back-channel logout POST.", buckets=SLOW_BUCKETS)
        self.backchannel_pending = Gauge(
            "nidan_backchannel_logout_pending",
            "Back-channel logout deliveries waiting in the store (shared by all replicas).",
            multiprocess_mode="livemax")
        self.password_verify = Histogram(
            "nidan_password_verify_duration_seconds",
            "Time of one password hash verification (including the dummy one).",
            buckets=PASSWORD_BUCKETS)
        self.store_duration = Histogram(
            "nidan_store_operation_duration_seconds", "Store operations by backend and kind.",
            ["backend", "operation"], buckets=FAST_BUCKETS)
        self.store_errors = Counter(
            "nidan_store_errors_total", "Store operations that failed (StoreError).",
            ["backend", "operation"])
        self.key_expiry = Gauge(
            "nidan_signing_key_expiry_timestamp_seconds",
            "When the last signing key of an algorithm stops signing (+Inf: no end set).",
            ["alg"], multiprocess_mode="livemin")
        self.audit_events = Counter(
            "nidan_audit_events_total", "Audit events by name: one for one with the audit log.",
            ["event"])

    def child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, made once."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found
