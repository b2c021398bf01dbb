"""Structured logs and audit events.

Audit events are JSON lines on the ``idp.audit`` logger: one per enrollment, challenge,
success, failure, lockout, reset, import. They carry who and what, never a code, password,
secret or token; :class:`Audit` refuses field names that suggest one, so a careless caller
fails in tests instead of leaking in production.

Each request has a :class:`RequestContext` (set by the web edge, :mod:`idp.metrics.http`):
its request id goes on every log line and audit event of that request. Functions in
``AUDIT_HOOKS`` see every audit event of every :class:`Audit` (the metrics count them).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AUDIT_HOOKS",
    "FORBIDDEN_FIELDS",
    "Audit",
    "AuditEvent",
    "RequestContext",
    "bind_request",
    "configure_logging",
    "current_request",
    "note_client",
    "request_context",
    "unbind_request",
]

AUDIT_LOGGER = "idp.audit"

# Field names an audit event may never carry (compared lower-case, as substrings).
FORBIDDEN_FIELDS = ("code", "password", "secret", "token", "otp", "seed", "key")
# Explicitly fine although they contain a forbidden word: identifiers and outcomes.
_ALLOWED_FIELDS = frozenset({"key_id", "client_id", "error_code", "token_type"})

AuditEvent = dict[str, Any]

# Called with every audit event of every Audit, after its own listeners (the metrics).
AUDIT_HOOKS: list[Callable[[AuditEvent], None]] = []


@dataclass
class RequestContext:
    """What log lines and audit events of one request share. Mutable on purpose: a handler
    running in the thread pool (a copy of the context) can still note the client."""

    request_id: str
    client_id: str | None = None
    trace_id: str | None = None  # when tracing is on
    span_id: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("idp_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def bind_request(context: RequestContext) -> Token[RequestContext | None]:
    """Make ``context`` the current request's; undo with :func:`unbind_request`."""
    return _current.set(context)


def unbind_request(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def note_client(client_id: str | None) -> None:
    """The OAuth client this request is for, once known (for the per-client metrics)."""
    context = _current.get()
    if context is not None and client_id:
        context.client_id = client_id


# The request an event happens in (its id and the caller's address), set by the web edge.
_REQUEST: ContextVar[dict[str, str]] = ContextVar("idp_audit_request", default={})  # noqa: B039


@contextmanager
def request_context(*, request_id: str | None, address: str | None) -> Iterator[None]:
    """Events emitted inside the block carry ``request_id`` and ``address`` (when given)."""
    values = {k: v for k, v in (("request_id", request_id), ("address", address)) if v}
    reset = _REQUEST.set(values)
    try:
        yield
    finally:
        _REQUEST.reset(reset)


class Audit:
    """Emits audit events. ``listeners`` also receive each event (tests, metrics)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(AUDIT_LOGGER)
        self.listeners: list[Callable[[AuditEvent], None]] = []

    def emit(self, event: str, *, user_id: str | None = None, **fields: Any) -> AuditEvent:
        for name in fields:
            lowered = name.lower()
            if lowered not in _ALLOWED_FIELDS and any(w in lowered for w in FORBIDDEN_FIELDS):
                raise ValueError(f"audit field {name!r} could carry a secret; rename or drop it")
        record: AuditEvent = {"event": event, "at": round(time.time(), 3), **_REQUEST.get()}
        if user_id is not None:
            record["user_id"] = user_id
        record.update(fields)
        context = _current.get()
        if context is not None:
            record.setdefault("request_id", context.request_id)
        self._logger.info(json.dumps(record, ensure_ascii=False, sort_keys=True, default=str))
        for listener in self.listeners:
            listener(record)
        for hook in AUDIT_HOOKS:
            hook(record)
        return record

    def add_audit_listener(self, listener: Callable[[AuditEvent], None]) -> None:
        """Call ``listener`` with every later event, after it is logged, on the emitting
        thread. It must be quick and must not raise: what it does is never worth failing
        the action that was audited."""
        self.listeners.append(listener)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "at": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _current.get()
        if context is not None:
            data["request_id"] = context.request_id
            if context.trace_id is not None:
                data["trace_id"] = context.trace_id
                data["span_id"] = context.span_id
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback can quote values (codes, secrets) from its frames.
            data["exception"] = record.exc_info[0].__name__
        return json.dumps(data, ensure_ascii=False)


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = _current.get()
        return text if context is None else f"{text} request_id={context.request_id}"

    def formatException(self, ei: Any) -> str:
        return f"{ei[0].__name__} (traceback withheld: it can quote secrets)"


def configure_logging(level: str = "INFO", json_format: bool = True) -> None:
    """Root logging to stderr, JSON by default. Tracebacks never reach the log."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter() if json_format else _PlainFormatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs each request's full URL at INFO; URLs can carry credentials.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
