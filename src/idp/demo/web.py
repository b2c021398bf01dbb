"""HTTP routes of the demo relying party, mounted by ``idp.app.create_app`` in dev mode only
(``[server] dev``; without it ``/demo`` is a 404).

====================  ============================================================
``GET /demo``         the page: a sign-in button, or the signed-in person's claims
``POST /demo/login``  start a sign-in (``acr=2sv``: "Sign in again with a code")
``GET /demo/callback``  the redirect URI: code exchange, ID token, UserInfo
``POST /demo/logout`` RP-initiated logout at the provider, back to ``/demo``
====================  ============================================================

Handlers read the request on the event loop and do the rest - the Store and every HTTP
call to the provider - in the thread pool (:mod:`idp.demo.relying_party` explains why that
can't deadlock although the provider is this process).
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from idp.demo.client import CALLBACK_PATH, DEMO_PATH, demo_client, read_secret
from idp.demo.relying_party import ACR_2SV, DemoError, DemoRelyingParty
from idp.demo.state import DemoState
from idp.demo.view import signed_in_view

if TYPE_CHECKING:
    from idp.oidc.state import OidcState

__all__ = ["routes"]

log = logging.getLogger("idp.demo")

TEMPLATE: Final = "demo/page.html"
LOGIN_PURPOSE: Final = "demo-login"
LOGOUT_PURPOSE: Final = "demo-logout"
_STATE_BYTES: Final = 16




def _state(request: Request[OidcState]) -> DemoState:
    services = request.state["services"]
    return DemoState(services.settings, services.store)


def _relying_party(request: Request[OidcState]) -> DemoRelyingParty:
    """The demo as a client of this server's issuer; ``not_registered`` when dev mode did not
    register it in this working directory (``idp serve --dev`` does)."""
    issuer = request.state["services"].settings.server.issuer
    secret = read_secret()
    if secret is None:
        raise DemoError("not_registered")
    return DemoRelyingParty(issuer, demo_client(issuer, secret))


def _render(request: Request[OidcState], *, record: dict[str, Any] | None = None,
            error: DemoError | None = None, signed_out: bool = False,
            status: int = 200) -> Response:
    context = {
        "view": None if record is None else signed_in_view(record),
        "error": error,
        "signed_out": signed_out,
        "acr_2sv": ACR_2SV,
        "login_purpose": LOGIN_PURPOSE,
        "logout_purpose": LOGOUT_PURPOSE,
    }
    return request.state["templates"].render(request, TEMPLATE, context, status=status)


def _failed(request: Request[OidcState], error: DemoError) -> Response:
    # The reason and protocol detail only (an OAuth error code, a claim name): never a token.
    log.warning("demo sign-in failed: %s", error)
    status = 503 if error.reason in ("unreachable", "not_registered") else 400
    return _render(request, error=error, status=status)


async def page(request: Request[OidcState]) -> Response:
    state = _state(request)
    record = await run_in_threadpool(state.load_session, state.session_id(request))
    signed_out = record is None and "state" in request.query_params
    return _render(request, record=record, signed_out=signed_out)


async def login(request: Request[OidcState]) -> Response:
    templates = request.state["templates"]
    form = await templates.csrf.protect(request, LOGIN_PURPOSE)
    acr_values = ACR_2SV if form.get("acr") == "2sv" else None
    locale = templates.locale_for(request)
    state = _state(request)
    session_id = state.session_id(request) or state.new_session_id()

    def work() -> str:
        started = _relying_party(request).start(acr_values=acr_values, ui_locales=locale)
        state.save_flow(session_id, started.state, verifier=started.verifier,
                        nonce=started.nonce, acr_values=acr_values)
        return started.url

    try:
        url = await run_in_threadpool(work)
    except DemoError as exc:
        return _failed(request, exc)
    response = RedirectResponse(url, status_code=303)
    state.set_cookie(response, session_id)
    return response


async def callback(request: Request[OidcState]) -> Response:
    params = {name: value for name, value in request.query_params.items()}
    state = _state(request)
    session_id = state.session_id(request)

    def work() -> None:
        flow = state.take_flow(params.get("state", ""))
        if flow is None or session_id is None or not state.flow_belongs_to(flow, session_id):
            # Unknown, used or expired state, or a callback in another browser.
            raise DemoError("state")
        record = _relying_party(request).finish(params, nonce=str(flow["nonce"]),
                                                verifier=str(flow["verifier"]))
        record["acr_values"] = flow.get("acr_values")
        state.save_session(session_id, record)

    try:
        await run_in_threadpool(work)
    except DemoError as exc:
        return _failed(request, exc)
    return RedirectResponse(DEMO_PATH, status_code=303)


async def logout(request: Request[OidcState]) -> Response:
    templates = request.state["templates"]
    await templates.csrf.protect(request, LOGOUT_PURPOSE)
    locale = templates.locale_for(request)
    state = _state(request)
    session_id = state.session_id(request)

    def work() -> str | None:
        record = state.end_session(session_id)
        if record is None:
            return None  # not signed in to the demo: nothing to end at the provider
        return _relying_party(request).logout_url(
            str(record["id_token"]), state=secrets.token_urlsafe(_STATE_BYTES),
            ui_locales=locale)

    try:
        url = await run_in_threadpool(work)
    except DemoError as exc:
        return _failed(request, exc)
    response = RedirectResponse(url or DEMO_PATH, status_code=303)
    state.clear_cookie(response)
    return response


def routes() -> list[BaseRoute]:
    """The demo's routes. Mount them only in dev mode."""
    return [
        Route(DEMO_PATH, page, methods=["GET"]),
        Route("/demo/login", login, methods=["POST"]),
        Route(CALLBACK_PATH, callback, methods=["GET"]),
        Route("/demo/logout", logout, methods=["POST"]),
    ]
