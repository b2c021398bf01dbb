"""``/users``: list, search, create, change, disable, enable and delete people, with ETags
(``If-Match`` on every write: 428 without it, 412 when stale). The same functions as
``idp users ...`` (:class:`idp.users.Accounts`, :mod:`idp.users.directory`,
:mod:`idp.resets`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from idp.admin.auth import Caller
from idp.admin.calls import PREFIX, Call, Refused, fields, limit
from idp.admin.problems import problem
from idp.resets import delete_person, disable_person
from idp.services import Services
from idp.users import AccountError, EmailTaken, PasswordPolicyError, User, UserNotFound
from idp.users.directory import etag, search

__all__ = ["create_user", "delete_user", "disable_user", "enable_user", "existing",
           "get_user", "list_users", "update_user"]



def user_json(user: User) -> dict[str, Any]:
    # Whether the current address is proved, not which address was (the OIDC claim's meaning).
    data = user.public()
    data.pop("verified_email", None)
    data["email_verified"] = user.email_verified
    return data


def _user_response(user: User, status: int = 200, **headers: str) -> Response:
    return JSONResponse(user_json(user), status_code=status,
                        headers={"ETag": etag(user), "Cache-Control": "no-store", **headers})


def _account_problem(exc: Exception) -> Response:
    if isinstance(exc, UserNotFound):
        return problem(404, "No such user.", kind="user-not-found")
    if isinstance(exc, EmailTaken):
        return problem(409, str(exc), kind="email-taken")
    return problem(422, str(exc), kind=getattr(exc, "code", "invalid").replace("_", "-"))


def existing(services: Services, call: Call, *, write: bool) -> User:
    """The user of the path; a ``write`` also needs a current ``If-Match``."""
    user = services.accounts.get(call.params["user_id"])
    if user is None:
        raise Refused(_account_problem(UserNotFound()))
    if write:
        if call.if_match is None:
            raise Refused(problem(428, "A write needs If-Match with the user's ETag.",
                                  kind="if-match-required"))
        tags = [tag.strip() for tag in call.if_match.split(",")]
        if etag(user) not in tags and "*" not in tags:
            raise Refused(problem(412, "The user changed since you read it: read it again.",
                                  kind="stale-etag", headers={"ETag": etag(user)}))
    return user


def list_users(services: Services, caller: Caller, call: Call) -> Response:
    status = call.query.get("status")
    if status not in (None, "active", "disabled"):
        return problem(400, "status must be active or disabled.", kind="invalid-query")
    size = limit(call)
    cursor = call.query.get("cursor", "")
    users = [user for user in search(services.accounts, call.query.get("q", ""),
                                     status=status)  # type: ignore[arg-type]
             if user.id > cursor]
    page = users[:size]
    next_cursor = page[-1].id if len(users) > size else None
    return JSONResponse({"items": [user_json(user) for user in page],
                         "next_cursor": next_cursor}, headers={"Cache-Control": "no-store"})


def create_user(services: Services, caller: Caller, call: Call) -> Response:
    body = fields(call.body, {"email": str, "display_name": str, "locale": str,
                              "password": str}, required=("email",))
    try:
        user = services.accounts.create(
            body["email"], display_name=body.get("display_name", ""),
            locale=body.get("locale", "ja"), password=body.get("password"), actor=caller.actor)
    except (AccountError, PasswordPolicyError) as exc:
        return _account_problem(exc)
    return _user_response(user, 201, Location=f"{PREFIX}/users/{user.id}")


def get_user(services: Services, caller: Caller, call: Call) -> Response:
    return _user_response(existing(services, call, write=False))


def _write(services: Services, caller: Caller, call: Call,
           change: Callable[[User], User]) -> Response:
    """Apply ``change`` to the user of the path, under a current ``If-Match``."""
    user = existing(services, call, write=True)
    try:
        updated = change(user)
    except AccountError as exc:
        return _account_problem(exc)
    return _user_response(updated)


def update_user(services: Services, caller: Caller, call: Call) -> Response:
    body = fields(call.body, {"display_name": str, "locale": str})
    if "locale" in body and body["locale"] not in ("ja", "en"):
        return problem(422, "locale must be ja or en.", kind="invalid-body")
    changes = {k: v.strip() if k == "display_name" else v for k, v in body.items()}
    return _write(services, caller, call, lambda user: services.accounts.update(
        user.id, actor=caller.actor, **changes))


def disable_user(services: Services, caller: Caller, call: Call) -> Response:
    """Disabled, and every way back in closed at once (:func:`idp.resets.disable_person`)."""
    return _write(services, caller, call,
                  lambda user: disable_person(services, user.id, actor=caller.actor))


def enable_user(services: Services, caller: Caller, call: Call) -> Response:
    return _write(services, caller, call, lambda user: services.accounts.set_status(
        user.id, "active", actor=caller.actor))


def delete_user(services: Services, caller: Caller, call: Call) -> Response:
    user = existing(services, call, write=True)
    try:
        delete_person(services, user, actor=caller.actor)
    except AccountError as exc:
        return _account_problem(exc)
    return Response(status_code=204)


