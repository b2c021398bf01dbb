"""Optional OpenTelemetry traces (``[tracing] enabled``, off by default).

A server span per request (made by :mod:`idp.metrics.http`, not by the stock ASGI
instrumentation, which copies the whole URL, query string included, and the client's address
and user agent into attributes), child spans for store operations, password checks, code
deliveries, and a span per back-channel logout attempt; second-factor challenges and checks
and token issues are events on the request's span. Every attribute value comes from a closed
set (route template, method ids, outcomes): never a URL, query, address, user agent, id of a
person, code or token.

The exporter (OTLP over HTTP), the sampler and the resource follow the standard ``OTEL_*``
environment variables. Needs the ``otel`` extra (opentelemetry-sdk and the OTLP exporter).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from idp.observability import AUDIT_HOOKS, AuditEvent, current_request

__all__ = ["ServerSpan", "active", "disable", "enable", "record_span", "store_span"]

_tracer: Any = None
_provider: Any = None

# Audit events that become events on the request's span, with the fields they may carry.
_SPAN_EVENTS: Mapping[str, tuple[str, ...]] = {
    "method.challenge.sent": ("method", "role"),
    "method.challenge.failed": ("method", "role", "error_code"),
    "method.verify.succeeded": ("method", "role"),
    "method.verify.failed": ("method", "role", "error_code"),
    "login.password.succeeded": (),
    "login.password.failed": ("reason",),
    "oidc.token_issued": ("grant_type",),
    "oidc.code_issued": (),
}


def active() -> bool:
    return _tracer is not None


def enable(*, exporter: Any = None) -> None:
    """Start tracing in this process (once). ``exporter``: a span exporter for tests;
    otherwise OTLP over HTTP as the ``OTEL_EXPORTER_OTLP_*`` variables say, batched."""
    global _tracer, _provider
    if _tracer is not None:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    defaults = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "nidan"}
    provider = TracerProvider(resource=Resource.create(defaults))  # sampler: OTEL_TRACES_*
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _provider = provider
    _tracer = provider.get_tracer("nidan")
    AUDIT_HOOKS.append(_audit_hook)


def disable() -> None:
    """Stop tracing (tests): flush and forget the provider."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None
    AUDIT_HOOKS[:] = [hook for hook in AUDIT_HOOKS if hook is not _audit_hook]


class ServerSpan:
    """The span of one request; the request's log lines carry its trace and span ids."""

    def __init__(self, method: str, headers: Iterable[tuple[bytes, bytes]]) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier = {}
        for name, value in headers:
            if name in (b"traceparent", b"tracestate"):
                carrier[name.decode()] = value.decode("latin-1")
        parent = TraceContextTextMapPropagator().extract(carrier) if carrier else None
        self.method = method
        self.span = _tracer.start_span(
            f"{method}", context=parent, kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": method},
        )
        self._token = context.attach(trace.set_span_in_context(self.span))
        span_context = self.span.get_span_context()
        request = current_request()
        if request is not None:
            request.trace_id = format(span_context.trace_id, "032x")
            request.span_id = format(span_context.span_id, "016x")

    def end(self, route: str, status: int) -> None:
        from opentelemetry import context, trace

        self.span.update_name(f"{self.method} {route}")
        self.span.set_attribute("http.route", route)
        self.span.set_attribute("http.response.status_code", status)
        if status >= 500:
            self.span.set_status(trace.StatusCode.ERROR)
        self.span.end()
        context.detach(self._token)


def store_span(backend: str, operation: str) -> AbstractContextManager[Any]:
    """A child span of the current one; none outside a traced request (the back-channel
    loop polls the store every second: that would be a trace a second)."""
    if _tracer is None:
        return nullcontext()
    from opentelemetry import trace

    if not trace.get_current_span().is_recording():
        return nullcontext()

    span: AbstractContextManager[Any] = _tracer.start_as_current_span(
        f"store {operation}", kind=trace.SpanKind.CLIENT,
        attributes={"db.system.name": backend, "db.operation.name": operation})
    return span


def record_span(name: str, seconds: float, attributes: Mapping[str, str] | None = None
                ) -> None:
    """A child span of the current one for work that just took ``seconds``."""
    if _tracer is None:
        return
    end = time.time_ns()
    span = _tracer.start_span(name, start_time=end - int(seconds * 1e9),
                              attributes=dict(attributes or {}))
    span.end(end_time=end)


def _closed(value: Any) -> str:
    # Fields read here are ids of methods and roles, error codes and reasons: short tokens.
    text = str(value)
    return text if len(text) <= 40 and text.replace("_", "").replace("-", "").isalnum() else "other"


def _audit_hook(event: AuditEvent) -> None:
    name = event.get("event")
    try:
        if name in ("delivery.sent", "delivery.failed"):
            duration = event.get("duration_s")
            if isinstance(duration, (int, float)):
                record_span("code delivery", float(duration), {
                    "nidan.channel": _closed(event.get("channel")),
                    "nidan.outcome": "sent" if name == "delivery.sent" else "failed"})
        elif isinstance(name, str) and name.startswith("oidc.backchannel_"):
            duration = event.get("duration_s")
            if isinstance(duration, (int, float)):
                record_span("backchannel logout", float(duration),
                            {"nidan.outcome": name.removeprefix("oidc.backchannel_")})
        elif isinstance(name, str) and name in _SPAN_EVENTS:
            from opentelemetry import trace

            span = trace.get_current_span()
            if span.is_recording():
                span.add_event(name, {field: _closed(event[field])
                                      for field in _SPAN_EVENTS[name] if field in event})
    except Exception:  # a trace must not break what it traces
        return
