"""A tiny site assembled from the web pieces, served over real HTTP for the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from idp.settings import Settings
from idp.web.errors import install_error_handlers
from idp.web.headers import SecurityHeadersMiddleware
from idp.web.templating import Templates
from tests.conftest import loopback_settings
from tests.live_server import live_server

TEST_TEMPLATES = Path(__file__).parent / "templates"
# What the failing route raises: it must never reach a page or a log line.
LEAKY_MESSAGE = "db password hunter2 for user@example.com"


def build_site(settings: Settings) -> Starlette:
    templates = Templates(settings, directories=[TEST_TEMPLATES])

    async def page(request: Request) -> Response:
        """GET shows the form (purpose from ?purpose=, default "code"); POST verifies it."""
        if request.method == "POST":
            form = await templates.csrf.protect(request, "code")
            return PlainTextResponse(f"accepted {form.get('code', '')}")
        locale = templates.locale_for(
            request,
            ui_locales=request.query_params.get("ui_locales"),
            user_locale=request.query_params.get("user_locale"),
        )
        return templates.render(
            request,
            "form.html",
            {
                "action": "/form",
                "purpose": request.query_params.get("purpose", "code"),
                "error": None,
                "field_error": None,
                "cooldown_s": 25,
                "browsers": int(request.query_params.get("browsers", "2")),
            },
            locale=locale,
        )

    async def boom(request: Request) -> Response:
        raise RuntimeError(LEAKY_MESSAGE)

    app = Starlette(
        routes=[
            Route("/form", page, methods=["GET", "POST"]),
            Route("/boom", boom, methods=["GET", "POST"]),
            *templates.routes(),
        ]
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.server.secure)
    install_error_handlers(app, templates)
    return app


@dataclass(frozen=True)
class Site:
    base: str
    settings: Settings


@contextmanager
def serve_site(tmp_path: Path, **sections: dict[str, object]) -> Iterator[Site]:
    """The site on a free loopback port whose issuer is that very address (as in dev)."""
    settings, port = loopback_settings(tmp_path, **sections)
    with live_server(build_site(settings), port=port) as base:
        yield Site(base, settings)
