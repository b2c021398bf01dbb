"""The enrollment pages of the sign-in (BEHAVIOUR E1-E7): choose a method for the role,
give its number, verify its code; then the recovery codes, shown once, with a download and
"don't require codes on this browser". Every GET shows the stage the transaction is at (a
stale URL is redirected there); every POST is CSRF-checked.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from idp.login.core import Browser
from idp.login.enrolling import EnrollView
from idp.login.model import Stage
from idp.login.pages import CEREMONY_ANSWER_CHARS, field, seconds_until
from idp.login.responses import (
    STAGE_URLS,
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
from idp.web.errors import status_for
from idp.web.i18n import N_, LocaleCode, is_supported

__all__ = [
    "codes_download",
    "enroll_back",
    "enroll_codes",
    "enroll_details",
    "enroll_page",
    "enroll_resend",
    "enroll_verify",
]

_TEMPLATES: Final = {
    Stage.CHOOSE: "login/enroll_choose.html",
    Stage.DETAILS: "login/enroll_details.html",
    Stage.VERIFY: "login/enroll_verify.html",
}
# One line each under a method's name on the chooser; the wording follows the seeds (E2).
METHOD_HINTS: Final = {
    "totp": N_("Recommended. The app shows a new code every 30 seconds, even without a "
               "network connection."),
    "sms": N_("A code by text message to a mobile phone."),
    "voice": N_("A call to a mobile or landline phone that reads the code aloud."),
    "webauthn": N_("A security key you plug in or tap, or a passkey on your phone or "
                   "computer. Nothing to type, and it can't be phished."),
}
CODES_FILE_HEADING: Final = N_("Recovery codes for two-step verification")
CODES_FILE_NOTE: Final = N_("Each code can be used once, if you lose both of your devices. "
                            "Keep them somewhere safe.")


def _render(request: Request[LoginState], view: EnrollView, *, error: Exception | None = None,
            values: dict[str, str] | None = None, notice: bool = False) -> Response:
    templates = request.state["templates"]
    problem = error or view.error
    pending = view.pending
    context: dict[str, Any] = {
        "view": view,
        "error": None if problem is None else error_message(templates, problem, view.locale),
        "error_code": getattr(problem, "code", None),
        "values": values or {},
        "hints": METHOD_HINTS,
        "refusals": {refused.id: error_message(templates, refused.error, view.locale)
                     for refused in view.refused},
        "voice_offered": any(choice.id == "voice" for choice in view.choices),
        "resent": notice and problem is None,
        "cooldown_s": 0 if pending is None else seconds_until(pending.resend_at),
    }
    status = 200 if error is None else status_for(error)
    return templates.render(request, _TEMPLATES[view.stage], context, status=status)


def _again(request: Request[LoginState], values: dict[str, str] | None = None) -> Again:
    """The page of the transaction's stage again, with the reason a POST was refused."""
    machine = request.state["login"]
    return lambda token, browser, error: _render(
        request, machine.enroll_view(token, browser), error=error, values=values
    )


def _show(request: Request[LoginState], stage: Stage, *, notice: bool = False) -> Response:
    """The page of ``stage`` if the transaction is there, else a redirect to its stage. An
    expired pending enrollment is explained on the chooser, wherever it was noticed."""
    machine = request.state["login"]
    view = machine.enroll_view(token_of(request, machine), browser_of(request))
    if view.stage is not stage and view.error is None:
        return redirect(STAGE_URLS[view.stage])
    return _render(request, view, notice=notice)


async def enroll_page(request: Request[LoginState]) -> Response:
    """``/login/enroll``: why (E1), and the choice of a method for the role."""
    machine = request.state["login"]
    if request.method == "POST":
        form = await request.state["templates"].csrf.protect(request, "login-enroll")
        method_id, form_id = field(form, "method", 64), field(form, "tx")

        def submit(token: str | None, browser: Browser) -> Response:
            machine.choose_method(token, form_id, method_id, browser=browser)
            view = machine.enroll_view(token, browser)
            return redirect(STAGE_URLS[view.stage])

        return await attempted(request, submit, _again(request))
    return await guarded(request, lambda: _show(request, Stage.CHOOSE))


async def enroll_details(request: Request[LoginState]) -> Response:
    """``/login/enroll/details``: the phone number (E4, E5: refusals explained; a number
    that can't receive SMS is offered a voice call instead)."""
    machine = request.state["login"]
    if request.method == "POST":
        form = await request.state["templates"].csrf.protect(request, "login-enroll-details")
        values = {"phone": field(form, "phone", 64), "key_name": field(form, "key_name", 128)}
        method_id = field(form, "method", 64) or None
        form_id = field(form, "tx")

        def submit(token: str | None, browser: Browser) -> Response:
            machine.submit_details(token, form_id, values, browser=browser,
                                   method_id=method_id)
            return redirect(STAGE_URLS[Stage.VERIFY])

        return await attempted(request, submit, _again(request, values))
    return await guarded(request, lambda: _show(request, Stage.DETAILS))


async def enroll_verify(request: Request[LoginState]) -> Response:
    """``/login/enroll/verify``: the QR code and secret (E6) or "we sent a code to ...", and
    the code that proves the method (E2)."""
    machine = request.state["login"]
    if request.method == "POST":
        form = await request.state["templates"].csrf.protect(request, "login-enroll-verify")
        code, form_id = field(form, "code", 64), field(form, "tx")
        credential = field(form, "credential", CEREMONY_ANSWER_CHARS)

        def submit(token: str | None, browser: Browser) -> Response:
            outcome = machine.verify_enrollment(token, form_id, code, browser=browser,
                                                credential=credential)
            return respond(machine, outcome)

        return await attempted(request, submit, _again(request))
    resent = request.query_params.get("sent") == "1"
    return await guarded(request, lambda: _show(request, Stage.VERIFY, notice=resent))


async def enroll_resend(request: Request[LoginState]) -> Response:
    machine = request.state["login"]
    form = await request.state["templates"].csrf.protect(request, "login-enroll-resend")
    form_id = field(form, "tx")

    def resend(token: str | None, browser: Browser) -> Response:
        machine.enroll_resend(token, form_id, browser)
        return redirect(STAGE_URLS[Stage.VERIFY] + "?sent=1")

    return await attempted(request, resend, _again(request))


async def enroll_back(request: Request[LoginState]) -> Response:
    """The "choose another method" button: drops the pending enrollment of this role."""
    machine = request.state["login"]
    form = await request.state["templates"].csrf.protect(request, "login-enroll-back")
    form_id = field(form, "tx")

    def submit() -> Response:
        machine.enroll_back(token_of(request, machine), form_id, browser_of(request))
        return redirect(STAGE_URLS[Stage.CHOOSE])

    return await guarded(request, submit)


async def enroll_codes(request: Request[LoginState]) -> Response:
    """``/login/enroll/codes``: the recovery codes, once (E7); continuing ends the journey,
    trusting this browser if the box is ticked (T1)."""
    services = request.state["services"]
    machine = request.state["login"]
    templates = request.state["templates"]
    if request.method == "POST":
        form = await templates.csrf.protect(request, "login-codes")
        trust, form_id = field(form, "trust") == "1", field(form, "tx")

        def submit() -> Response:
            outcome = machine.finish_enrollment(
                token_of(request, machine), form_id, browser=browser_of(request),
                session=current_session(request, services), trust=trust,
            )
            return respond(machine, outcome)

        return await guarded(request, submit)

    def show() -> Response:
        view = machine.codes_view(token_of(request, machine), browser_of(request))
        return templates.render(request, "login/enroll_codes.html", {"view": view})

    return await guarded(request, show)


async def codes_download(request: Request[LoginState]) -> Response:
    """The recovery codes as a text file, only while the transaction holds them."""
    machine = request.state["login"]
    templates = request.state["templates"]
    form = await templates.csrf.protect(request, "login-codes-download")
    form_id = field(form, "tx")

    def download() -> Response:
        view = machine.codes_view(token_of(request, machine), browser_of(request))
        codes = machine.download_codes(token_of(request, machine), form_id)
        lang: LocaleCode = view.locale if is_supported(view.locale) else "en"
        text = "\n".join((
            f"{templates.settings.ui.service_name} - "
            f"{templates.catalogues.gettext(lang, CODES_FILE_HEADING)}",
            "",
            *codes,
            "",
            templates.catalogues.gettext(lang, CODES_FILE_NOTE),
            "",
        ))
        return PlainTextResponse(text, headers={
            "Content-Disposition": 'attachment; filename="recovery-codes.txt"',
        })

    return await guarded(request, download)
