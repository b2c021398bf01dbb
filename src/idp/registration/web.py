"""HTTP edge of registration: ``POST /register`` (RFC 7591) and ``GET|PUT|DELETE
/register/{client_id}`` (RFC 7592), JSON in and out. Mounted by the composition root only
when ``[registration] mode`` is not "off"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from typing_extensions import ReadOnly, TypedDict

from idp.oidc.provider import REGISTRATION_PATH
from idp.registration.errors import InvalidClientMetadata, RegistrationError, status_for
from idp.registration.service import Caller, Registration
from idp.services import Services
from idp.store import StoreError

__all__ = ["RegistrationState", "routes"]

MAX_BODY_BYTES: Final = 16 * 1024
_JSON: Final = "application/json"
_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Registration is called from browser-based tools too (MCP inspectors): it needs no cookie,
# so any origin may call it (the token, not the origin, is what is checked).
_CORS: Final = {"Access-Control-Allow-Origin": "*"}


class RegistrationState(TypedDict):
    services: ReadOnly[Services]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=_JSON,
                    headers={**_NO_STORE, **_CORS})


def _error(error: RegistrationError) -> Response:
    response = _json(error.body(), status_for(error))
    if error.unauthorized:
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="{error.error}", error_description="{error.description}"')
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


async def _body(request: Request[RegistrationState]) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != _JSON:
        raise InvalidClientMetadata("Send the metadata as application/json.")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise InvalidClientMetadata(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InvalidClientMetadata("The body is not valid JSON.") from None


def _caller(request: Request[RegistrationState]) -> Caller:
    address = request.client.host if request.client else "unknown"
    return Caller(address=address, authorization=request.headers.get("authorization"))


async def _answer(request: Request[RegistrationState], work: Callable[[Registration, Caller,
                                                                       Any], Response],
                  *, has_body: bool) -> Response:
    registration = Registration(request.state["services"])
    caller = _caller(request)
    try:
        body = await _body(request) if has_body else None
    except RegistrationError as error:
        return _error(error)

    def run() -> Response:
        try:
            return work(registration, caller, body)
        except RegistrationError as error:
            return _error(error)
        except StoreError:
            return _json({"error": "temporarily_unavailable",
                          "error_description": "The service is briefly unavailable."}, 503)

    return await run_in_threadpool(run)


async def register(request: Request[RegistrationState]) -> Response:
    return await _answer(request, lambda reg, caller, body: _json(reg.register(body, caller),
                                                                  201), has_body=True)


async def configuration(request: Request[RegistrationState]) -> Response:
    client_id = str(request.path_params["client_id"])
    if request.method == "GET":
        return await _answer(request, lambda reg, caller, _: _json(reg.read(client_id, caller)),
                             has_body=False)
    if request.method == "PUT":
        return await _answer(request, lambda reg, caller, body: _json(
            reg.update(client_id, body, caller)), has_body=True)

    def delete(reg: Registration, caller: Caller, _: Any) -> Response:
        reg.delete(client_id, caller)
        return Response(status_code=204, headers={**_NO_STORE, **_CORS})

    return await _answer(request, delete, has_body=False)


async def preflight(request: Request[RegistrationState]) -> Response:
    return Response(status_code=204, headers={
        **_CORS, "Access-Control-Allow-Methods": "POST, GET, PUT, DELETE",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": "600"})


def routes() -> list[BaseRoute]:
    return [
        Route(REGISTRATION_PATH, register, methods=["POST"]),
        Route(REGISTRATION_PATH, preflight, methods=["OPTIONS"]),
        Route(REGISTRATION_PATH + "/{client_id}", configuration, methods=["GET", "PUT", "DELETE"]),
        Route(REGISTRATION_PATH + "/{client_id}", preflight, methods=["OPTIONS"]),
    ]
