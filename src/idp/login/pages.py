"""The sign-in pages before enrollment: the password (S1, S4), the code (S3, S5, T1) and the
recovery code (C3). Each GET shows the step the transaction is at; each POST is CSRF-checked,
moves the machine, and answers 303 (next step) or the same page with the reason (400/429).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.login.core import Browser
from idp.login.machine import CodeView, RecoveryView
from idp.login.model import JourneyError, LoginRequirements, Step
from idp.login.responses import (
    STEP_URLS,
    Again,
    attempted,
    browser_of,
    current_session,
    error_message,
    guarded,
    redirect,
    respond,
    token_of,
)
from idp.login.state import LoginState
from idp.login.transactions import LoginTransaction
from idp.web.errors import status_for

__all__ = ["code_page", "code_resend", "field", "password_page", "recovery_page",
           "seconds_until"]

# A person opening the provider directly lands on the security settings once signed in.
DEFAULT_RESUME = "/account"
# Longer than any address (RFC 5321: 254) or password we accept (1024 is generous: the
# policy allows at most [passwords] max_length for new ones): cut before any work.
_MAX_EMAIL = 320
_MAX_PASSWORD = 1024


# A security key's answer (the ceremony's JSON in a hidden field) is a few kilobytes.
CEREMONY_ANSWER_CHARS = 16_384


def field(form: FormData, name: str, limit: int = 256) -> str:
    """A text field of the form, cut to ``limit`` characters ("" for a file or nothing)."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def seconds_until(when: float | None) -> int:
    return 0 if when is None else max(0, math.ceil(when - time.time()))


# -- password -------------------------------------------------------------------------------


def _render_password(request: Request[LoginState], tx: LoginTransaction, *,
                     email: str | None = None, error: Exception | None = None) -> Response:
    templates = request.state["templates"]
    locale = templates.locale_for(request, ui_locales=tx.ui_locales)
    context: dict[str, Any] = {
        "tx_id": tx.id,
        "email": (tx.login_hint or "") if email is None else email,
        "client_name": tx.client_name,
        "error": None if error is None else error_message(templates, error, locale),
    }
    status = 200 if error is None else status_for(error)
    return templates.render(request, "login/password.html", context, status=status)


async def password_page(request: Request[LoginState]) -> Response:
    """``/login``: email and password. Without a transaction, a GET starts one that ends
    on the security settings page (someone opening the provider directly); ``?restart=1``
    starts the browser's journey again from the password, for another account."""
    services = request.state["services"]
    machine = request.state["login"]
    if request.method == "POST":
        form = await request.state["templates"].csrf.protect(request, "login-password")
        email = field(form, "email", _MAX_EMAIL)
        password = field(form, "password", _MAX_PASSWORD)
        form_id = field(form, "tx")

        def submit() -> Response:
            token = token_of(request, machine)
            try:
                outcome = machine.submit_password(
                    token, form_id, email, password, browser=browser_of(request),
                    session=current_session(request, services),
                )
            except JourneyError as exc:
                held = machine.password_view(token)
                return _render_password(request, held.tx, email=email, error=exc)
            return respond(machine, outcome)

        return await guarded(request, submit)

    restart = request.query_params.get("restart") == "1"

    def show() -> Response:
        token = token_of(request, machine)
        held = machine.transactions.load(token)
        requirements = LoginRequirements(resume=DEFAULT_RESUME)
        if held is not None:
            if restart:
                # "Sign in with another account": a new journey to the same place.
                requirements = replace(held.tx.requirements, force_password=True)
            elif held.tx.step is not Step.PASSWORD:
                return redirect(STEP_URLS[held.tx.step])
            else:
                return _render_password(request, held.tx)
        started = machine.start(requirements, current_session(request, services),
                                old_token=token)
        if started.token is None:
            return redirect(requirements.resume)
        cookie = machine.transactions.cookie(started.token)
        if started.step is not Step.PASSWORD:
            return redirect(STEP_URLS[started.step], (cookie,))
        fresh = machine.transactions.load(started.token)
        assert fresh is not None
        response = _render_password(request, fresh.tx)
        response.set_cookie(**cookie.set_cookie_kwargs())
        return response

    return await guarded(request, show)


# -- code -------------------------------------------------------------------------------------


def _render_code(request: Request[LoginState], view: CodeView, *, error: Exception | None = None,
                 notice: bool = False) -> Response:
    templates = request.state["templates"]
    problem = error or view.error
    context: dict[str, Any] = {
        "view": view,
        "error": None if problem is None else error_message(templates, problem, view.locale),
        "resent": notice and problem is None,
        "cooldown_s": seconds_until(view.resend_at) if view.delivers_code else 0,
        "code_minutes": max(1, int(templates.settings.lifetimes.code_s // 60)),
    }
    status = 200 if error is None else status_for(error)
    return templates.render(request, "login/code.html", context, status=status)


def _code_again(request: Request[LoginState]) -> Again:
    machine = request.state["login"]
    return lambda token, browser, error: _render_code(
        request, machine.code_view(token, browser), error=error
    )


async def code_page(request: Request[LoginState]) -> Response:
    """``/login/code``: the code of the primary (``?use=backup`` after "Didn't receive the
    code?"), the "don't require codes on this browser" box (T1)."""
    services = request.state["services"]
    machine = request.state["login"]
    if request.method == "POST":
        form = await request.state["templates"].csrf.protect(request, "login-code")
        code, form_id = field(form, "code", 64), field(form, "tx")
        credential = field(form, "credential", CEREMONY_ANSWER_CHARS)
        trust = field(form, "trust") == "1"

        def submit(token: str | None, browser: Browser) -> Response:
            outcome = machine.submit_code(
                token, form_id, code, browser=browser,
                session=current_session(request, services), trust=trust,
                credential=credential,
            )
            return respond(machine, outcome)

        return await attempted(request, submit, _code_again(request))
    use = request.query_params.get("use")
    resent = request.query_params.get("sent") == "1"

    def show() -> Response:
        view = machine.code_view(token_of(request, machine), browser_of(request),
                                 use if use in ("primary", "backup") else None)
        return _render_code(request, view, notice=resent)

    return await guarded(request, show)


async def code_resend(request: Request[LoginState]) -> Response:
    """The "send again" button: the methods layer's cooldown and budgets apply (S5)."""
    machine = request.state["login"]
    form = await request.state["templates"].csrf.protect(request, "login-resend")
    form_id = field(form, "tx")

    def resend(token: str | None, browser: Browser) -> Response:
        machine.resend(token, form_id, browser=browser)
        return redirect(STEP_URLS[Step.CODE] + "?sent=1")

    return await attempted(request, resend, _code_again(request))


# -- recovery code ------------------------------------------------------------------------------


async def recovery_page(request: Request[LoginState]) -> Response:
    """``/login/recovery``: a recovery code instead of the devices (C3)."""
    machine = request.state["login"]
    templates = request.state["templates"]

    def render(view: RecoveryView, error: Exception | None = None) -> Response:
        context = {"tx_id": view.tx_id, "reenroll": view.reenroll, "error": None if error is None
                   else error_message(templates, error, view.locale)}
        status = 200 if error is None else status_for(error)
        return templates.render(request, "login/recovery.html", context, status=status)

    if request.method == "POST":
        form = await templates.csrf.protect(request, "login-recovery")
        code, form_id = field(form, "code", 64), field(form, "tx")

        def submit(token: str | None, browser: Browser) -> Response:
            return respond(machine, machine.submit_recovery(token, form_id, code,
                                                            browser=browser))

        return await attempted(request, submit, lambda token, browser, error: render(
            machine.recovery_view(token, browser), error))

    def show() -> Response:
        return render(machine.recovery_view(token_of(request, machine), browser_of(request)))

    return await guarded(request, show)
