"""Structured logs and audit events.

Audit events are JSON lines on the ``idp.audit`` logger: one per enrollment, challenge,
success, failure, lockout, reset, import. They carry who and what, never a code, password,
secret or token; :class:`Audit` refuses field names that suggest one, so a careless caller
fails in tests instead of leaking in production.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["FORBIDDEN_FIELDS", "Audit", "AuditEvent", "configure_logging", "request_context"]

AUDIT_LOGGER = "idp.audit"

# Field names an audit event may never carry (compared lower-case, as substrings).
FORBIDDEN_FIELDS = ("code", "password", "secret", "token", "otp", "seed", "key")
# Explicitly fine although they contain a forbidden word: identifiers and outcomes.
_ALLOWED_FIELDS = frozenset({"key_id", "client_id", "error_code", "token_type"})

AuditEvent = dict[str, Any]

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
        self._logger.info(json.dumps(record, ensure_ascii=False, sort_keys=True, default=str))
        for listener in self.listeners:
            listener(record)
        return record


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "at": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: a traceback can quote values (codes, secrets) from its frames.
            data["exception"] = record.exc_info[0].__name__
        return json.dumps(data, ensure_ascii=False)


class _PlainFormatter(logging.Formatter):
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
