"""The composition root: the Starlette application over the services (:mod:`idp.services`).

Every request handler follows one model: read the request on the event loop (the body is
async), then run the work (store, hashing, authlib) in the thread pool, so nothing that
waits on the network or burns CPU blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idp.account.web import routes as account_routes
from idp.demo import routes as demo_routes
from idp.login.web import routes as login_routes
from idp.observability import configure_logging
from idp.oidc.web import routes as oidc_routes
from idp.services import Services, build_services
from idp.settings import Settings, load_settings
from idp.store import StoreError
from idp.web.access_log import AccessLogMiddleware
from idp.web.errors import install_error_handlers
from idp.web.headers import SecurityHeadersMiddleware
from idp.web.templating import Templates

__all__ = ["create_app", "create_app_from_environment"]


async def healthz(request: Request) -> Response:
    """The process is up. Says nothing about dependencies (that is /readyz)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to serve: the store answers. 503 otherwise, so a load balancer stops routing."""
    services: Services = request.app.state.services
    try:
        await run_in_threadpool(services.store.ping)
    except StoreError:
        return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready", "store": "ok"})


async def home(request: Request) -> Response:
    """The start page, for a person who opens the provider directly."""
    templates: Templates = request.app.state.templates
    return templates.render(request, "home.html")


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    """The application. ``services`` may be given (tests share one store with the app)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or build_services(settings)
        # Back-channel logout deliveries waiting in the store (from before a restart too).
        backchannel = asyncio.create_task(app.state.services.oidc.backchannel.run())
        try:
            yield
        finally:
            backchannel.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await backchannel
            if owned:
                app.state.services.close()

    templates = Templates(settings)
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *templates.routes(),
            *login_routes(),
            *account_routes(),
            *oidc_routes(),
            # The demo relying party (/demo) exists in dev mode only: a 404 otherwise.
            *(demo_routes() if settings.server.dev else []),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.server.secure)
    app.add_middleware(AccessLogMiddleware)
    install_error_handlers(app, templates)
    app.state.templates = templates
    if services is not None:
        app.state.services = services
    return app


def create_app_from_environment() -> Starlette:
    """uvicorn's factory for worker processes: the CLI passes the config path in IDP_CONFIG."""
    path = os.environ.get("IDP_CONFIG")
    settings = load_settings(Path(path) if path else None)
    configure_logging(settings.logging.level, settings.logging.json_format)
    return create_app(settings)
