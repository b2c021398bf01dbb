"""HTTP routes of `idp.oidc`, mounted by `idp.app.create_app`.

=========================================  ===================================================
``/.well-known/openid-configuration``      discovery (OIDC Discovery 1.0)
``/.well-known/oauth-authorization-server`` the same document (RFC 8414)
``/jwks.json``                             the signing keys (next, current, previous)
``/authorize``                             authorization endpoint (GET, POST)
``/authorize/resume``                      back from the sign-in journey
``/authorize/consent``                     the consent page's answer (POST)
``/token``                                 token endpoint (POST)
``/userinfo``                              UserInfo (GET, POST)
``/revoke``                                RFC 7009 revocation (POST)
``/introspect``                            RFC 7662 introspection (POST)
``/logout``                                RP-Initiated Logout end-session endpoint (GET, POST)
``/logout/confirm``                        the logout confirmation's answer (POST)
=========================================  ===================================================

Each handler reads the request on the event loop, then does the work in the thread pool.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.oidc._authlib import InvalidClientError, InvalidRequestError
from idp.oidc.adapter import HttpRequest, MalformedRequest, malformed_as, read_request
from idp.oidc.documents import conditional_response
from idp.oidc.pages import CONSENT_PURPOSE, LOGOUT_PURPOSE, Pages
from idp.store import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from idp.oidc.provider import OidcProvider
    from idp.oidc.state import OidcServices, OidcState

    # What the authorization and logout endpoints do with the request, in the thread pool.
    _PageWork = Callable[[Request[OidcState], HttpRequest, OidcServices, Pages], Response]

__all__ = ["routes"]

_BOTH = ["GET", "POST"]
_JSON = "application/json"



def _provider(request: Request[OidcState]) -> OidcProvider:
    return request.state["services"].oidc


def _pages(request: Request[OidcState]) -> Pages:
    return Pages(request.state["templates"])


class _Malformed(Exception):
    """authlib could not describe an error in the request's own (forbidden) characters."""


def _oauth_error(error: Any) -> Response:
    status, body, headers = error(None)
    response = Response(json.dumps(body), status_code=status)
    for name, value in headers:
        response.headers[name] = value
    return response


def _unavailable() -> Response:
    """The store is away (a failover, a restart): a JSON answer clients retry on, not a
    page (RFC 6749 5.2 has no code for it; temporarily_unavailable is 4.1.2.1's)."""
    body = {"error": "temporarily_unavailable",
            "error_description": "The service is briefly unavailable; try again."}
    return Response(json.dumps(body), status_code=503, media_type=_JSON,
                    headers={"Retry-After": "2", "Cache-Control": "no-store",
                             "Pragma": "no-cache"})


# -- public documents -------------------------------------------------------------------


async def discovery(request: Request[OidcState]) -> Response:
    provider = _provider(request)
    return conditional_response(request.headers.get("if-none-match"), provider.discovery_json,
                                provider.discovery_etag, _public(provider))


async def jwks(request: Request[OidcState]) -> Response:
    provider = _provider(request)
    keys = provider.keys
    # Served from memory while fresh; the store is read (thread pool) at most every 30 s.
    ring = keys.ring() if keys.is_fresh() else await run_in_threadpool(keys.ring)
    return conditional_response(request.headers.get("if-none-match"), ring.jwks_json,
                                ring.jwks_etag, _public(provider))


def _public(provider: OidcProvider) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={provider.oidc.jwks_max_age_s}",
            "Access-Control-Allow-Origin": "*"}


# -- authorization ----------------------------------------------------------------------


async def _page_endpoint(request: Request[OidcState], bad: str, work: _PageWork) -> Response:
    """An endpoint that answers with pages: ``work`` on the request read, or the ``bad``
    error page when it can't be read."""
    pages = _pages(request)
    try:
        http = await read_request(request, _provider(request).issuer)
    except MalformedRequest:
        return pages.error(request, bad)
    return await run_in_threadpool(work, request, http, request.state["services"], pages)


async def authorize(request: Request[OidcState]) -> Response:
    return await _page_endpoint(request, "bad_request", _provider(request).authorization.authorize)


async def resume(request: Request[OidcState]) -> Response:
    txn_id = request.query_params.get("r", "")
    return await run_in_threadpool(_provider(request).authorization.resume, request, txn_id,
                                   request.state["services"], _pages(request))


async def consent(request: Request[OidcState]) -> Response:
    form = await request.state["templates"].csrf.protect(request, CONSENT_PURPOSE)
    txn_id, decision = form.get("r"), form.get("decision")
    return await run_in_threadpool(
        _provider(request).authorization.decide_consent, request,
        txn_id if isinstance(txn_id, str) else "", approve=decision == "approve",
        services=request.state["services"], pages=_pages(request))


# -- token, revocation, introspection ----------------------------------------------------


def _basic_is_malformed(http: HttpRequest) -> bool:
    """True for ``Authorization: Basic`` whose credentials aren't base64 UTF-8 text (authlib
    would fail on them instead of refusing the client)."""
    scheme, _, value = http.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return True
    return False


async def _client_endpoint(request: Request[OidcState], work: Any) -> Response:
    provider = _provider(request)
    try:
        http = await read_request(request, provider.issuer)
    except MalformedRequest:
        return _oauth_error(InvalidRequestError("The body must be form-encoded UTF-8."))
    if _basic_is_malformed(http):
        return _oauth_error(InvalidClientError(status_code=401,
                                               description="Malformed Basic credentials."))

    def run() -> Response:
        try:
            with malformed_as(_Malformed):
                response: Response = work(provider, http)
        except StoreError:
            return _unavailable()
        except _Malformed:
            return _oauth_error(InvalidRequestError("Malformed request."))
        return response

    return await run_in_threadpool(run)


async def token(request: Request[OidcState]) -> Response:
    return await _client_endpoint(
        request, lambda provider, http: provider.server.create_token_response(http))


async def revoke(request: Request[OidcState]) -> Response:
    return await _client_endpoint(
        request, lambda provider, http: provider.server.create_endpoint_response("revocation",
                                                                                   http))


async def introspect(request: Request[OidcState]) -> Response:
    return await _client_endpoint(
        request, lambda provider, http: provider.server.create_endpoint_response(
            "introspection", http))


# -- userinfo ---------------------------------------------------------------------------


async def userinfo(request: Request[OidcState]) -> Response:
    provider = _provider(request)
    form: dict[str, str] = {}
    try:
        http = await read_request(request, provider.issuer)
    except MalformedRequest:
        return _oauth_error(InvalidRequestError("The body must be form-encoded UTF-8."))
    if request.method == "POST":
        form = dict(reversed(http.form))  # the first value of each field wins
    try:
        result = await run_in_threadpool(provider.userinfo.answer,
                                         request.headers.get("authorization"), form)
    except StoreError:
        return _unavailable()
    return Response(result.encoded(), status_code=result.status, headers=result.headers,
                    media_type=_JSON)


# -- logout -----------------------------------------------------------------------------


async def end_session(request: Request[OidcState]) -> Response:
    return await _page_endpoint(request, "bad_logout", _provider(request).logout.end_session)


async def logout_confirm(request: Request[OidcState]) -> Response:
    form = await request.state["templates"].csrf.protect(request, LOGOUT_PURPOSE)
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    return await run_in_threadpool(_provider(request).logout.confirm, request, fields,
                                   request.state["services"], _pages(request))


def routes() -> list[BaseRoute]:
    """The routes of this area. Handlers find the services at ``request.state["services"]``
    and the templates at ``request.state["templates"]``."""
    return [
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", discovery, methods=["GET"]),
        Route("/jwks.json", jwks, methods=["GET"]),
        Route("/authorize", authorize, methods=_BOTH),
        Route("/authorize/resume", resume, methods=["GET"]),
        Route("/authorize/consent", consent, methods=["POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/userinfo", userinfo, methods=_BOTH),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/introspect", introspect, methods=["POST"]),
        Route("/logout", end_session, methods=_BOTH),
        Route("/logout/confirm", logout_confirm, methods=["POST"]),
    ]
