"""What the sign-in pages share: the browser as the machine sees it,
and the translation of the machine's results into redirects, cookies and pages.

Request handlers read the request (form, cookies) on the event loop and run the rest -
store, hashing, methods, rendering - in the thread pool through :func:`guarded`, which also
turns an expired transaction into the friendly "start again" page and a request for the
wrong step into a redirect to the step the transaction is at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.devices import IssuedCookie
from idp.login.core import Browser
from idp.login.machine import LoginMachine
from idp.login.model import (
    JourneyError,
    Outcome,
    SlowDown,
    Stage,
    Step,
    TransactionExpired,
    WrongStep,
)
from idp.methods import MethodError
from idp.sessions import SsoSession
from idp.web.i18n import ERROR_MESSAGES, N_, LocaleCode, is_supported
from idp.web.templating import Templates

if TYPE_CHECKING:
    from idp.login.core import LoginServices
    from idp.login.state import LoginState

__all__ = [
    "STAGE_URLS",
    "STEP_URLS",
    "Again",
    "attempted",
    "browser_of",
    "current_session",
    "error_message",
    "guarded",
    "redirect",
    "respond",
    "token_of",
]

STEP_URLS: Final[Mapping[Step, str]] = {
    Step.PASSWORD: "/login",
    Step.CODE: "/login/code",
    Step.REENROLL: "/login/recovery",
    Step.ENROLL: "/login/enroll",
    Step.RECOVERY_CODES: "/login/enroll/codes",
    Step.DONE: "/login",
}
STAGE_URLS: Final[Mapping[Stage, str]] = {
    Stage.CHOOSE: "/login/enroll",
    Stage.DETAILS: "/login/enroll/details",
    Stage.VERIFY: "/login/enroll/verify",
}
# The sign-in's own message; the others are idp.web.i18n.ERROR_MESSAGES.
SLOW_DOWN: Final = N_("Too many attempts. Please wait {retry_after_s} seconds and try again.")


def token_of(request: Request[Any], machine: LoginMachine) -> str | None:
    return request.cookies.get(machine.transactions.cookie_name)


def browser_of(request: Request[LoginState]) -> Browser:
    templates = request.state["templates"]

    def locale(ui_locales: str | None, user_locale: str | None) -> str:
        return templates.locale_for(request, ui_locales=ui_locales, user_locale=user_locale)

    return Browser(
        cookies=request.cookies,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        locale=locale,
    )


def current_session(request: Request[Any], services: LoginServices) -> SsoSession | None:
    """The browser's live SSO session: the cookie's session, of the person's current epoch,
    while the person exists and is active. Synchronous (Store reads): thread pool."""

    def epoch(user_id: str) -> int | None:
        user = services.accounts.get(user_id)
        return user.security_epoch if user is not None and user.active else None

    token = request.cookies.get(services.sessions.cookie_name)
    return services.sessions.current(token, user_epoch=epoch)


def _set(response: Response, cookies: tuple[IssuedCookie, ...]) -> None:
    for cookie in cookies:
        response.set_cookie(**cookie.set_cookie_kwargs())


def redirect(url: str, cookies: tuple[IssuedCookie, ...] = ()) -> Response:
    response = RedirectResponse(url, status_code=303)
    _set(response, cookies)
    return response


def respond(machine: LoginMachine, outcome: Outcome) -> Response:
    """303 to the next step, or, when the journey ended, to where it resumes, with the new
    session's cookie and the transaction cookie cleared."""
    completion = outcome.completion
    if completion is None:
        return redirect(STEP_URLS[outcome.step], outcome.cookies)
    response = redirect(completion.resume, outcome.cookies)
    if completion.session_cookie is not None:
        response.set_cookie(**completion.session_cookie.set_cookie_kwargs())
    response.set_cookie(**machine.transactions.clear_cookie().set_cookie_kwargs())
    return response


def expired_page(request: Request[LoginState], machine: LoginMachine) -> Response:
    """The "your session has expired" page: the journey can't go on; a link starts it
    again."""
    templates = request.state["templates"]
    minutes = max(1, int(templates.settings.lifetimes.login_transaction_s // 60))
    response = templates.render(request, "login/expired.html", {"minutes": minutes},
                                status=400)
    response.set_cookie(**machine.transactions.clear_cookie().set_cookie_kwargs())
    return response


async def guarded(request: Request[LoginState], work: Callable[[], Response]) -> Response:
    """Run ``work`` in the thread pool; an expired transaction becomes the "start again"
    page, a request for another step a redirect to the transaction's step."""
    machine = request.state["login"]
    try:
        return await run_in_threadpool(work)
    except TransactionExpired:
        return expired_page(request, machine)
    except WrongStep as wrong:
        return redirect(STEP_URLS[wrong.step])


# The page a refused POST answers with: the transaction's token, the browser, the reason.
Again = Callable[[str | None, Browser, MethodError], Response]


async def attempted(request: Request[LoginState], act: Callable[[str | None, Browser], Response],
                    again: Again) -> Response:
    """:func:`guarded` for a POST that moves the machine: ``act(token, browser)``; a
    :class:`MethodError` it raises becomes ``again(token, browser, error)``, the same page
    with the reason (400, or 429 for a throttle)."""
    machine = request.state["login"]

    def work() -> Response:
        token = token_of(request, machine)
        browser = browser_of(request)
        try:
            return act(token, browser)
        except MethodError as exc:
            return again(token, browser, exc)

    return await guarded(request, work)


def error_message(templates: Templates, error: Exception, locale: str) -> str:
    """The person's message for ``error`` in ``locale``: a method's error through the
    catalogues, the sign-in's own by code; anything else the generic S4 message."""
    lang: LocaleCode = locale if is_supported(locale) else "en"
    if isinstance(error, MethodError):
        return templates.catalogues.message_for(error, lang)
    params: dict[str, Any] = {}
    msgid = ERROR_MESSAGES["invalid_credentials"]
    if isinstance(error, JourneyError):
        params = error.params
        msgid = SLOW_DOWN if isinstance(error, SlowDown) else ERROR_MESSAGES.get(
            error.code, msgid
        )
    return templates.catalogues.gettext(lang, msgid).format(**params)

