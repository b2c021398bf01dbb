"""``/admin/api/v1``: the operators' REST API (JSON, errors as RFC 9457 problems).

A room of its own above :mod:`idp.services` and below the composition root: it uses the same
services, and the same functions, as the ``idp`` commands (:class:`idp.users.Accounts`,
:mod:`idp.users.directory`, :class:`idp.audit.AuditLog`), so a rule holds the same whichever
way an operator acts. Each route names the one scope it needs (:mod:`idp.admin.auth`); the
routes and their answers are described by :data:`idp.admin.openapi.DOCUMENT`, served at
``/admin/api/v1/openapi.json`` and checked against every response in the tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from typing_extensions import ReadOnly, TypedDict

from idp.admin.auth import Caller, authenticate, request_id_of
from idp.admin.openapi import DOCUMENT
from idp.admin.problems import problem
from idp.observability import request_context
from idp.resets import delete_person
from idp.services import Services
from idp.store import StoreError
from idp.users import AccountError, EmailTaken, PasswordPolicyError, User, UserNotFound
from idp.users.directory import etag, search

__all__ = ["PREFIX", "AdminState", "routes"]

PREFIX: Final = "/admin/api/v1"
_MAX_BODY: Final = 64 * 1024
_MAX_LIMIT: Final = 200
_DEFAULT_LIMIT: Final = 50


class AdminState(TypedDict):
    services: ReadOnly[Services]


@dataclass(frozen=True)
class Call:
    """What a handler gets of the request, read on the event loop."""

    params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    if_match: str | None = None


Work = Callable[[Services, Caller, Call], Response]


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _endpoint(scope: str, work: Work, *, has_body: bool = False) -> Callable[..., Any]:
    async def handler(request: Request[AdminState]) -> Response:
        services = request.state["services"]
        body: dict[str, Any] = {}
        if has_body:
            parsed = await _json_body(request)
            if isinstance(parsed, Response):
                return parsed
            body = parsed
        call = Call(dict(request.path_params), dict(request.query_params), body,
                    request.headers.get("if-match"))
        address = request.client.host if request.client else None

        def run() -> Response:
            with request_context(request_id=request_id_of(request), address=address):
                caller = authenticate(services, request.headers.get("authorization"), scope)
                if isinstance(caller, Response):
                    return caller
                try:
                    return work(services, caller, call)
                except _Refused as refused:
                    return refused.response
                except StoreError:
                    return problem(503, "The store did not answer; try again.",
                                   kind="store-unavailable")

        return await run_in_threadpool(run)

    return handler


async def _json_body(request: Request[AdminState]) -> dict[str, Any] | Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return problem(415, "Send a JSON body (Content-Type: application/json).")
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        return problem(400, "The body is too large.")
    try:
        data = json.loads(raw)
    except ValueError:
        return problem(400, "The body is not JSON.")
    if not isinstance(data, dict):
        return problem(400, "The body must be a JSON object.")
    return data


def _limit(call: Call) -> int:
    raw = call.query.get("limit", str(_DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_LIMIT:
        raise _Refused(problem(400, f"limit must be a whole number from 1 to {_MAX_LIMIT}."))
    return int(raw)


# -- users -------------------------------------------------------------------------------


def _user_json(user: User) -> dict[str, Any]:
    # Whether the current address is proved, not which address was (the OIDC claim's meaning).
    data = user.public()
    data.pop("verified_email", None)
    data["email_verified"] = user.email_verified
    return data


def _user_response(user: User, status: int = 200, **headers: str) -> Response:
    return JSONResponse(_user_json(user), status_code=status,
                        headers={"ETag": etag(user), "Cache-Control": "no-store", **headers})


def _account_problem(exc: Exception) -> Response:
    if isinstance(exc, UserNotFound):
        return problem(404, "No such user.", kind="user-not-found")
    if isinstance(exc, EmailTaken):
        return problem(409, str(exc), kind="email-taken")
    return problem(422, str(exc), kind=getattr(exc, "code", "invalid").replace("_", "-"))


def _existing(services: Services, call: Call, *, write: bool) -> User:
    user = services.accounts.get(call.params["user_id"])
    if user is None:
        raise _Refused(_account_problem(UserNotFound()))
    if write:
        if call.if_match is None:
            raise _Refused(problem(428, "A write needs If-Match with the user's ETag.",
                                   kind="if-match-required"))
        tags = [tag.strip() for tag in call.if_match.split(",")]
        if etag(user) not in tags and "*" not in tags:
            raise _Refused(problem(412, "The user changed since you read it: read it again.",
                                   kind="stale-etag", headers={"ETag": etag(user)}))
    return user


def _fields(body: dict[str, Any], allowed: dict[str, type], required: tuple[str, ...] = ()
            ) -> dict[str, Any]:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise _Refused(problem(422, f"Unknown field(s): {', '.join(unknown)}.",
                               kind="invalid-body"))
    for name in required:
        if name not in body:
            raise _Refused(problem(422, f"Missing field: {name}.", kind="invalid-body"))
    for name, value in body.items():
        if not isinstance(value, allowed[name]):
            raise _Refused(problem(422, f"{name} must be a {allowed[name].__name__}.",
                                   kind="invalid-body"))
    return body


def list_users(services: Services, caller: Caller, call: Call) -> Response:
    status = call.query.get("status")
    if status not in (None, "active", "disabled"):
        return problem(400, "status must be active or disabled.")
    limit = _limit(call)
    cursor = call.query.get("cursor", "")
    users = [user for user in search(services.accounts, call.query.get("q", ""),
                                     status=status)  # type: ignore[arg-type]
             if user.id > cursor]
    page = users[:limit]
    next_cursor = page[-1].id if len(users) > limit else None
    return JSONResponse({"items": [_user_json(user) for user in page],
                         "next_cursor": next_cursor}, headers={"Cache-Control": "no-store"})


def create_user(services: Services, caller: Caller, call: Call) -> Response:
    body = _fields(call.body, {"email": str, "display_name": str, "locale": str,
                               "password": str}, required=("email",))
    try:
        user = services.accounts.create(
            body["email"], display_name=body.get("display_name", ""),
            locale=body.get("locale", "ja"), password=body.get("password"), actor=caller.actor)
    except (AccountError, PasswordPolicyError) as exc:
        return _account_problem(exc)
    return _user_response(user, 201, Location=f"{PREFIX}/users/{user.id}")


def get_user(services: Services, caller: Caller, call: Call) -> Response:
    return _user_response(_existing(services, call, write=False))


def update_user(services: Services, caller: Caller, call: Call) -> Response:
    body = _fields(call.body, {"display_name": str, "locale": str})
    user = _existing(services, call, write=True)
    if "locale" in body and body["locale"] not in ("ja", "en"):
        return problem(422, "locale must be ja or en.", kind="invalid-body")
    changes = {k: v.strip() if k == "display_name" else v for k, v in body.items()}
    try:
        updated = services.accounts.update(user.id, actor=caller.actor, **changes)
    except AccountError as exc:
        return _account_problem(exc)
    return _user_response(updated)


def _set_status(status: str) -> Work:
    def work(services: Services, caller: Caller, call: Call) -> Response:
        user = _existing(services, call, write=True)
        try:
            updated = services.accounts.set_status(user.id, status,  # type: ignore[arg-type]
                                                   actor=caller.actor)
        except AccountError as exc:
            return _account_problem(exc)
        return _user_response(updated)

    return work


def delete_user(services: Services, caller: Caller, call: Call) -> Response:
    user = _existing(services, call, write=True)
    try:
        delete_person(services, user, actor=caller.actor)
    except AccountError as exc:
        return _account_problem(exc)
    return Response(status_code=204)


# -- audit -------------------------------------------------------------------------------


def _since(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _Refused(problem(400, "since must be seconds since the epoch or an ISO 8601 "
                                    "time with a zone.")) from None
    if moment.tzinfo is None:
        raise _Refused(problem(400, "since needs a time zone (e.g. 2026-12-03T10:00:00Z)."))
    return moment.timestamp()


def read_audit(services: Services, caller: Caller, call: Call) -> Response:
    limit = _limit(call)
    cursor = call.query.get("cursor", "0")
    if not cursor.isdigit():
        return problem(400, "cursor must be the next_cursor of an earlier page.")
    items: list[dict[str, Any]] = []
    more = False
    since = _since(call.query.get("since"))
    for event in services.audit_log.events(after=int(cursor), since=since):
        if len(items) == limit:
            more = True
            break
        items.append(event)
    next_cursor = str(items[-1]["seq"]) if more else None
    return JSONResponse({"items": items, "next_cursor": next_cursor},
                        headers={"Cache-Control": "no-store"})


# -- the document and the routes ---------------------------------------------------------


async def openapi(request: Request[AdminState]) -> Response:
    return JSONResponse(DOCUMENT)


async def not_found(request: Request[AdminState]) -> Response:
    return problem(404, "No such route in /admin/api/v1 (see openapi.json).")


_ANY_METHOD: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")
READ, WRITE, AUDIT = "admin:users:read", "admin:users:write", "admin:audit:read"


def routes() -> list[BaseRoute]:
    return [Mount(PREFIX, routes=[
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/users", _endpoint(READ, list_users), methods=["GET"]),
        Route("/users", _endpoint(WRITE, create_user, has_body=True), methods=["POST"]),
        Route("/users/{user_id}:disable", _endpoint(WRITE, _set_status("disabled")),
              methods=["POST"]),
        Route("/users/{user_id}:enable", _endpoint(WRITE, _set_status("active")),
              methods=["POST"]),
        Route("/users/{user_id}", _endpoint(READ, get_user), methods=["GET"]),
        Route("/users/{user_id}", _endpoint(WRITE, update_user, has_body=True),
              methods=["PATCH"]),
        Route("/users/{user_id}", _endpoint(WRITE, delete_user), methods=["DELETE"]),
        Route("/audit", _endpoint(AUDIT, read_audit), methods=["GET"]),
        Route("/{rest:path}", not_found, methods=list(_ANY_METHOD)),
    ])]
