"""The edge of every /admin/api/v1 operation: authenticate, read the body, run the work in
the thread pool, and audit every refusal.

An operation is an :class:`Operation` (method, path, OpenAPI ``operationId``, the one scope
it needs, the work). The work is synchronous and gets what it needs of the request in one
frozen :class:`Call`; it answers with a response or raises :class:`Refused` with a problem.
Every 4xx answer, from a missing token to a stale ETag, is an audit event ``admin.refused``
(actor, operation, target, ``result: failure``, the problem kind as ``reason``, the request
id and the caller's address), so a support desk probing what it may not do leaves a trail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typing_extensions import ReadOnly, TypedDict

from idp.admin.auth import Caller, Unauthorized, authenticate, request_id_of
from idp.admin.problems import PROBLEM_TYPE, problem
from idp.observability import request_context
from idp.services import Services
from idp.store import StoreError

__all__ = ["PREFIX", "AdminState", "Call", "Operation", "Refused", "Work", "fields", "limit",
           "route"]

PREFIX: Final = "/admin/api/v1"
MAX_BODY: Final = 64 * 1024
MAX_LIMIT: Final = 200
DEFAULT_LIMIT: Final = 50
Body = Literal["none", "required", "optional"]


class AdminState(TypedDict):
    services: ReadOnly[Services]


@dataclass(frozen=True)
class Call:
    """What a handler gets of the request, read on the event loop."""

    params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    if_match: str | None = None
    idempotency_key: str | None = None


Work = Callable[[Services, Caller, Call], Response]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # below /admin/api/v1, as in the OpenAPI document
    operation_id: str
    scope: str
    work: Work
    body: Body = "none"


class Refused(Exception):
    """Raised by the work: answer with ``response`` (a problem)."""

    def __init__(self, response: Response) -> None:
        self.response = response


@dataclass(frozen=True)
class _Raw:
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    content: bytes
    address: str | None
    request_id: str | None


def _parse_body(raw: _Raw, body: Body) -> dict[str, Any]:
    if body == "none" or (body == "optional" and not raw.content):
        return {}
    media = raw.headers.get("content-type", "").split(";")[0].strip()
    if media != "application/json":
        raise Refused(problem(415, "Send a JSON body (Content-Type: application/json).",
                              kind="not-json"))
    if len(raw.content) > MAX_BODY:
        raise Refused(problem(400, "The body is too large.", kind="body-too-large"))
    try:
        data = json.loads(raw.content)
    except ValueError:
        raise Refused(problem(400, "The body is not JSON.", kind="not-json")) from None
    if not isinstance(data, dict):
        raise Refused(problem(400, "The body must be a JSON object.", kind="invalid-body"))
    return data


def _answer(services: Services, op: Operation, raw: _Raw) -> tuple[Response, str]:
    """The response and who asked (for the audit of a refusal)."""
    try:
        caller = authenticate(services, raw.headers.get("authorization"), op.scope)
    except Unauthorized as refused:
        actor = "anonymous" if refused.client_id is None else f"client:{refused.client_id}"
        return refused.response, actor
    try:
        call = Call(raw.params, raw.query, _parse_body(raw, op.body),
                    raw.headers.get("if-match"), raw.headers.get("idempotency-key"))
        return op.work(services, caller, call), caller.actor
    except Refused as refused:
        return refused.response, caller.actor
    except StoreError:
        return problem(503, "The store did not answer; try again.",
                       kind="store-unavailable"), caller.actor


def _kind_of(response: Response) -> str:
    try:
        kind = str(json.loads(bytes(response.body))["type"])
    except (ValueError, KeyError, TypeError):
        return "refused"
    return kind.removeprefix("urn:nidan:admin:")


def _audit_refusal(services: Services, op: Operation, raw: _Raw, response: Response,
                   actor: str) -> None:
    target = raw.params.get("user_id") or raw.params.get("client_id")
    reason = (_kind_of(response) if response.headers.get("content-type") == PROBLEM_TYPE
              else "refused")
    services.audit.emit("admin.refused", actor=actor, target=target, result="failure",
                        reason=reason, operation=op.operation_id,
                        status=response.status_code)


def route(op: Operation) -> Route:
    """The Starlette route of ``op``."""

    async def handler(request: Request[AdminState]) -> Response:
        services = request.state["services"]
        content = await request.body() if op.body != "none" else b""
        raw = _Raw(dict(request.path_params), dict(request.query_params),
                   dict(request.headers), content,
                   request.client.host if request.client else None, request_id_of(request))

        def run() -> Response:
            with request_context(request_id=raw.request_id, address=raw.address):
                response, actor = _answer(services, op, raw)
                if 400 <= response.status_code < 500:
                    _audit_refusal(services, op, raw, response, actor)
                return response

        return await run_in_threadpool(run)

    return Route(op.path, handler, methods=[op.method])


def limit(call: Call) -> int:
    raw = call.query.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Refused(problem(400, f"limit must be a whole number from 1 to {MAX_LIMIT}.",
                              kind="invalid-query"))
    return int(raw)


def fields(body: dict[str, Any], allowed: dict[str, type | tuple[type, ...]],
           required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``body`` if it has only ``allowed`` fields of their types and every ``required``
    one; otherwise :class:`Refused` with a 422."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise Refused(problem(422, f"Unknown field(s): {', '.join(unknown)}.",
                              kind="invalid-body"))
    for name in required:
        if name not in body:
            raise Refused(problem(422, f"Missing field: {name}.", kind="invalid-body"))
    for name, value in body.items():
        expected = allowed[name]
        kinds = expected if isinstance(expected, tuple) else (expected,)
        # JSON true is not a number here, whatever Python thinks.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(kind.__name__ for kind in kinds)
            raise Refused(problem(422, f"{name} must be a {names}.", kind="invalid-body"))
    return body
