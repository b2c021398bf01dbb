"""Friendly error pages in the person's language; never a stack trace (OWASP ASVS V7.4.1).

:func:`install_error_handlers` makes every HTTP error (404, 405, ...), every CSRF failure
(403) and every unhandled exception (500) a page rendered from ``error.html``. The 500 page
shows a reference id; the log line carries that id and the exception's type only: a message
or a traceback can quote a code, a password or a key.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Protocol, runtime_checkable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.web.csrf import CsrfError
from idp.web.i18n import N_
from idp.web.templating import Templates

__all__ = [
    "ERROR_PAGES", "ErrorPage", "Refusal", "error_response", "install_error_handlers", "status_for",
]


@runtime_checkable
class Refusal(Protocol):
    """An error told to the person on the page they are on (``MethodError``,
    ``JourneyError``): ``throttled`` says whether it means "wait"."""

    throttled: ClassVar[bool]


def status_for(error: Exception) -> int:
    """The one place that decides a refusal's status: 429 for a throttle (RFC 6585), 400 for
    any other refusal of what was sent."""
    return 429 if isinstance(error, Refusal) and error.throttled else 400

logger = logging.getLogger("idp.web.errors")

ERROR_TEMPLATE: Final = "error.html"


@dataclass(frozen=True)
class ErrorPage:
    """What an error page says: a heading and one sentence (msgids, translated at render)."""

    title: str
    message: str


ERROR_PAGES: Final[dict[int, ErrorPage]] = {
    400: ErrorPage(
        N_("Request not accepted"),
        N_("Something in this request wasn't right. Please go back and try again."),
    ),
    403: ErrorPage(
        N_("Access denied"),
        N_("You don't have permission to open this page."),
    ),
    404: ErrorPage(
        N_("Page not found"),
        N_(
            "There is no page at this address. Check the address, or go back to the service "
            "you were signing in to."
        ),
    ),
    405: ErrorPage(
        N_("This action isn't available"),
        N_("This page can't be used that way. Please go back and try again."),
    ),
    429: ErrorPage(
        N_("Too many requests"),
        N_("Please wait a moment and try again."),
    ),
    500: ErrorPage(
        N_("Something went wrong"),
        N_(
            "We couldn't complete your request. Please try again in a moment. If this keeps "
            "happening, contact your administrator and give them the reference below."
        ),
    ),
}
# CSRF failures have their own wording ("the page expired"), kept on the error class.
CSRF_PAGE: Final = ErrorPage(CsrfError.title, CsrfError.message)


def _page_for(status: int) -> ErrorPage:
    if status in ERROR_PAGES:
        return ERROR_PAGES[status]
    return ERROR_PAGES[500] if status >= 500 else ERROR_PAGES[400]


def _new_reference() -> str:
    # 40 random bits, grouped for reading aloud over the phone: "7F3A-09C2E1".
    raw = secrets.token_hex(5).upper()
    return f"{raw[:4]}-{raw[4:]}"


def error_response(
    templates: Templates,
    request: Request[Any],
    status: int,
    *,
    page: ErrorPage | None = None,
    reference: str | None = None,
    retry_url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The error page for ``status`` in the person's language. Page code may call it too."""
    page = page or _page_for(status)
    return templates.render(
        request,
        ERROR_TEMPLATE,
        {
            "status": status,
            "title": page.title,
            "message": page.message,
            "reference": reference,
            "retry_url": retry_url,
        },
        status=status,
        headers=headers,
    )


def install_error_handlers(app: Starlette, templates: Templates) -> None:
    """Route HTTP errors, CSRF failures and unhandled exceptions to friendly pages.

    Call before the app serves its first request (it adds a middleware).
    """

    async def http_error(request: Request[Any], exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (204, 304):  # no body allowed (RFC 9110 15.3.5, 15.4.5)
            return Response(status_code=exc.status_code, headers=exc.headers)
        return error_response(templates, request, exc.status_code, headers=exc.headers)

    async def csrf_error(request: Request[Any], exc: Exception) -> Response:
        assert isinstance(exc, CsrfError)
        logger.warning("CSRF check refused a %s request: %s", request.method, exc.reason)
        # Loading the form again (GET of the same address) gives a fresh token.
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return error_response(templates, request, exc.status_code, page=CSRF_PAGE, retry_url=here)

    async def server_error(request: Request[Any], exc: Exception) -> Response:
        reference = _new_reference()
        # The type only: the message and traceback can quote secrets (see module docstring).
        logger.error("unhandled %s, reference %s", type(exc).__name__, reference)
        try:
            return error_response(templates, request, 500, reference=reference)
        except Exception as failure:  # the page itself failed: say little, say it safely
            logger.error("error page failed: %s", type(failure).__name__)
            return PlainTextResponse(f"Internal Server Error ({reference})", status_code=500)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(CsrfError, csrf_error)
    # Innermost of the middleware (appended, whatever order the app adds others in), so the
    # 500 page passes through them all and gets the security headers.
    app.user_middleware.append(Middleware(_UnhandledErrors, handler=server_error))
    # Last resort, for a failure inside a middleware: Starlette's outermost layer.
    app.add_exception_handler(Exception, server_error)


class _UnhandledErrors:
    """Turn an exception no handler claimed into the 500 page, and end it there.

    Starlette sends such exceptions to its outermost middleware, which answers and then
    re-raises, so the server logs a full traceback (which can quote secrets) and the page
    misses every header the inner middleware adds. A pure ASGI layer, it buffers nothing.
    """

    def __init__(
        self, app: ASGIApp, handler: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # half a response is out: nothing sensible to add, let the server cut it
                raise
            response = await self.handler(Request(scope, receive), exc)
            await response(scope, receive, send)
