"""The composition root: services built from settings, and the Starlette application.

Every request handler follows one model: read the request on the event loop (the body is
async), then run the work (store, hashing, authlib) in the thread pool, so nothing that
waits on the network or burns CPU blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idp.account.web import routes as account_routes
from idp.accounts import Accounts, User
from idp.accounts.passwords import Passwords
from idp.delivery import Delivery, load_transports
from idp.demo import routes as demo_routes
from idp.devices import TrustedBrowsers
from idp.login.web import routes as login_routes
from idp.methods import MethodError, MethodUser
from idp.methods.codes import IssuedCode
from idp.methods.core import MethodChange
from idp.methods.service import MethodService
from idp.observability import Audit, configure_logging
from idp.oidc.provider import OidcProvider
from idp.oidc.web import routes as oidc_routes
from idp.sessions import SsoSessions
from idp.settings import Settings, load_settings
from idp.store import Store, StoreError, open_store
from idp.web.access_log import AccessLogMiddleware
from idp.web.errors import install_error_handlers
from idp.web.headers import SecurityHeadersMiddleware
from idp.web.templating import Templates

__all__ = [
    "MethodImporter",
    "Services",
    "build_services",
    "create_app",
    "create_app_from_environment",
    "method_user",
]


@dataclass
class Services:
    """Everything a request or a command may use, built once from settings."""

    settings: Settings
    store: Store
    audit: Audit
    accounts: Accounts
    devices: TrustedBrowsers
    sessions: SsoSessions
    delivery: Delivery
    methods: MethodService
    oidc: OidcProvider

    def close(self) -> None:
        self.delivery.close()
        self.store.close()


def method_user(user: User, locale: str | None = None) -> MethodUser:
    """The person as a method plugin sees them, in this interaction's language."""
    return MethodUser(id=user.id, email=user.email, display_name=user.display_name,
                      locale=locale or user.locale)


def build_services(
    settings: Settings,
    store: Store | None = None,
    *,
    code_observer: Callable[[str, IssuedCode], None] | None = None,
) -> Services:
    """Wire every service from settings. Raises ``SettingsError`` subclasses, one line per
    problem, for configuration that cannot work (a method or transport not installed...).
    ``code_observer`` sees every issued code: for test harnesses only."""
    store = store or open_store(settings.store)
    audit = Audit()
    accounts = Accounts(store, Passwords(settings.passwords), audit)
    devices = TrustedBrowsers(
        store, settings, audit,
        max_per_user=settings.limits.max_trusted_browsers,
        warn_above=settings.limits.many_trusted_browsers_warning,
    )
    delivery = load_transports(settings.delivery, audit=audit)
    methods = MethodService.from_settings(
        settings, store, audit=audit, delivery=delivery, code_observer=code_observer
    )

    def security_changed(change: MethodChange) -> None:
        # C4: any change of methods or recovery codes ends trusted browsers.
        if accounts.get(change.user_id) is None:
            return
        accounts.bump_epoch(change.user_id, reason=f"methods.{change.kind}")
        devices.on_security_change(change.user_id, reason=f"methods.{change.kind}")

    methods.listeners.append(security_changed)
    sessions = SsoSessions(store, settings, audit)
    return Services(
        settings=settings, store=store, audit=audit, accounts=accounts, devices=devices,
        sessions=sessions, delivery=delivery, methods=methods,
        oidc=OidcProvider(settings, store, audit, accounts, sessions),
    )


class MethodImporter:
    """Lets ``idp users import`` validate and store second factors through the methods."""

    def __init__(self, methods: MethodService) -> None:
        self._methods = methods

    def validate_import(self, rows: Sequence[tuple[str, str, dict[str, str]]]) -> None:
        try:
            self._methods.validate_import_set(rows)
        except MethodError as exc:
            raise ValueError(exc.detail or str(exc)) from None

    def import_credentials(self, user: User, rows: Sequence[tuple[str, str, dict[str, str]]]
                           ) -> None:
        self._methods.import_credentials(method_user(user), rows)

    def remove_all(self, user: User) -> None:
        self._methods.reset(user.id, actor="import-rollback")


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
