"""The composition root: the Starlette application over the services (:mod:`idp.services`).

Every request handler follows one model: read the request on the event loop (the body is
async), then run the work (store, hashing, authlib) in the thread pool, so nothing that
waits on the network or burns CPU blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typing_extensions import ReadOnly

from idp.account.web import routes as account_routes
from idp.admin import AdminState
from idp.admin import routes as admin_routes
from idp.demo import routes as demo_routes
from idp.login.machine import LoginMachine
from idp.login.web import routes as login_routes
from idp.metrics import bind_clients, tracing
from idp.metrics import enable as enable_metrics
from idp.metrics.gauges import start_gauges, stop_gauges
from idp.metrics.http import RequestIdMiddleware
from idp.notices.context import RequestInfoMiddleware
from idp.notices.pages import routes as notice_routes
from idp.notices.state import NoticeState
from idp.observability import configure_logging
from idp.oidc.web import routes as oidc_routes
from idp.registration import Registration, RegistrationState
from idp.registration import routes as registration_routes
from idp.scim import ScimState
from idp.scim import routes as scim_routes
from idp.services import Services, build_services
from idp.settings import Settings, load_settings
from idp.store import StoreError
from idp.web.access_log import AccessLogMiddleware
from idp.web.errors import install_error_handlers
from idp.web.headers import SecurityHeadersMiddleware
from idp.web.proxies import ForwardedHeadersMiddleware
from idp.web.templating import Templates

__all__ = ["AppState", "create_app", "create_app_from_environment"]


class AppState(NoticeState, AdminState, ScimState, RegistrationState):
    """The one application state, returned by the lifespan and copied into every request.
    Handlers here annotate ``request: Request[AppState]``; the rooms below read the same
    state through their own narrower view (``LoginState``, ``OidcState``); mypy checks that
    ``Services`` satisfies each view's protocol."""

    services: ReadOnly[Services]


async def healthz(request: Request[AppState]) -> Response:
    """The process is up. Says nothing about dependencies (that is /readyz)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request[AppState]) -> Response:
    """Ready to serve: the store answers. 503 otherwise, so a load balancer stops routing."""
    services = request.state["services"]
    try:
        await run_in_threadpool(services.store.ping)
    except StoreError:
        return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready", "store": "ok"})


async def home(request: Request[AppState]) -> Response:
    """The start page, for a person who opens the provider directly."""
    return request.state["templates"].render(request, "home.html")


def create_app(settings: Settings, services: Services | None = None, *,
               clock: Callable[[], float] = time.time) -> Starlette:
    """The application. ``services`` may be given (tests share one store with the app);
    otherwise they are built here and closed when the app shuts down. ``clock`` is the sign-in
    journey's (a test's own clock)."""
    owned = services is None
    # Before the services: their store is measured (and traced) when metrics (traces) are on.
    if settings.tracing.enabled:
        tracing.enable()
    metrics = enable_metrics(settings) if settings.metrics.enabled else None
    services = services or build_services(settings)
    templates = Templates(settings)
    registration = settings.registration.mode != "off"
    if registration:  # the unused registered clients are pruned by their last token
        services.audit.add_audit_listener(Registration(services).note_use)
    state: AppState = {
        "services": services,
        "templates": templates,
        "login": LoginMachine(services, clock=clock),
    }

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        # Back-channel logout deliveries waiting in the store (from before a restart too).
        backchannel = asyncio.create_task(services.oidc.backchannel.run())
        clients = services.oidc.clients
        bind_clients(lambda client_id: clients.get(client_id) is not None)
        gauges = start_gauges(metrics, services.oidc)
        # Security notices waiting in the store, sent by whichever replica claims each.
        notices = asyncio.create_task(services.notices.run(templates))
        try:
            yield state
        finally:
            # SIGTERM (graceful shutdown): let the delivery being sent finish, then stop; the
            # pending ones stay in the store for another replica.
            await stop_gauges(gauges)
            provider = services.oidc
            provider.backchannel.stop()
            done, _ = await asyncio.wait({backchannel},
                                         timeout=provider.oidc.backchannel_timeout_s + 1)
            if not done:
                backchannel.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await backchannel
            # Notices being sent are claimed in the store for a while: another replica
            # sends them if this one stops mid-way.
            notices.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await notices
            if owned:
                services.close()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *templates.routes(),
            *login_routes(),
            *account_routes(),
            *oidc_routes(),
            *notice_routes(),
            *admin_routes(),
            *scim_routes(),
            # Dynamic client registration (RFC 7591/7592): a 404 unless turned on.
            *(registration_routes() if registration else []),
            # The demo relying party (/demo) exists in dev mode only: a 404 otherwise.
            *(demo_routes() if settings.server.dev else []),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.server.secure)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestInfoMiddleware, secure=settings.server.secure)
    app.add_middleware(RequestIdMiddleware, metrics=metrics)  # ids on every line
    # Outermost: every layer and route sees the client's address, not the proxy's.
    app.add_middleware(ForwardedHeadersMiddleware, trusted_proxies=settings.server.trusted_proxies)
    install_error_handlers(app, templates)
    return app


def create_app_from_environment() -> Starlette:
    """uvicorn's factory for worker processes: the CLI passes the config path in IDP_CONFIG."""
    path = os.environ.get("IDP_CONFIG")
    settings = load_settings(Path(path) if path else None)
    configure_logging(settings.logging.level, settings.logging.json_format)
    return create_app(settings)
