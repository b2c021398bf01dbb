"""Replacing a method from the settings page (BEHAVIOUR C1, C2, E2-E5).

A person who lost the primary signs in with the backup, then replaces the primary here:
choose the new method (and number), prove it with a code it delivered (or the app shows),
and only then does it take the old one's place. ``MethodService`` saves the verified
credential into the role with compare-and-set and the policy checked against the other role
at that moment, so the person has two verified methods before, during and after the change:
the old method stays until the new one is verified, and a refused or abandoned replacement
changes nothing.

Pages (``<role>`` is ``primary`` or ``backup``):

- ``GET/POST /account/methods/<role>/replace``: choose the new method; E3-E5 refusals are
  shown with their reasons.
- ``GET/POST /account/methods/<role>/verify``: the QR code (app) or "we sent a code to
  ...", and the code.
- ``POST /account/methods/<role>/resend`` and ``.../cancel``.

Every step needs a code entered in this session within the last 10 minutes (C2); without
one the sign-in journey asks for it (step-up) and returns to the step's page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from idp.account.pages import ACCOUNT_PATH, method_path, page, see_other
from idp.account.person import Person, fresh_posted, fresh_signed_in, posted
from idp.account.recovery import render_new_codes
from idp.account.views import method_entries
from idp.methods import (
    AppBothRoles,
    Channel,
    EnrollmentExpired,
    MethodError,
)
from idp.methods.credentials import ROLES, Role
from idp.web.errors import status_for
from idp.web.templating import Templates

if TYPE_CHECKING:
    from idp.oidc.state import OidcState

__all__ = [
    "METHODS_PURPOSE",
    "cancel",
    "replace_form",
    "replace_submit",
    "resend",
    "role_of",
    "verify_form",
    "verify_submit",
]

METHODS_PURPOSE: Final = "account.methods"
# Form fields a method may ask for at enrollment that these pages know how to render.
_KNOWN_FIELDS: Final = ("phone", "key_name")
_MAX_FIELD_CHARS: Final = 64


def role_of(request: Request[OidcState]) -> Role:
    """The role in the path; anything else is a 404."""
    role = request.path_params.get("role")
    for known in ROLES:
        if role == known:
            return known
    raise HTTPException(404)


def _here(step: str) -> Callable[[Request[OidcState]], str]:
    """The resume of a gate: this role's page ``step`` (an unknown role is a 404 first)."""
    return lambda request: method_path(role_of(request), step)


def message_for(request: Request[OidcState], error: MethodError, person: Person) -> str:
    templates: Templates = request.state["templates"]
    return templates.catalogues.message_for(error, person.locale)


# -- choosing the new method ------------------------------------------------------------------


def _choices(person: Person, role: Role) -> dict[str, Any]:
    services = person.services
    user = person.method_user
    available = services.methods.available(user, role)
    offered = {choice.id for choice in available}
    allowed = (services.settings.enrollment.primary if role == "primary"
               else services.settings.enrollment.backup)
    # An app the policy won't take here (E3: the other role is an app too) is listed with
    # the reason, so the person knows why it is missing rather than wondering.
    refused = [
        services.methods.methods[method_id].label(person.locale)
        for method_id in allowed
        if method_id in services.methods.methods and method_id not in offered
        and services.methods.methods[method_id].info.channel is Channel.APP
    ]
    return {
        "methods": method_entries(services.methods.credentials(user), person.locale),
        "choices": available,
        "refused": refused,
    }


async def _render_choose(
    request: Request[OidcState], person: Person, role: Role, *, error: str | None = None,
    error_key: str | None = None, chosen: str | None = None,
    values: dict[str, str] | None = None, status: int = 200,
) -> Response:
    data = await run_in_threadpool(_choices, person, role)
    refused_reason = message_for(request, AppBothRoles(), person) if data["refused"] else None
    return page(request, person, "replace.html", {
        **data,
        "role": role,
        "refused_reason": refused_reason,
        "error": error,
        "error_key": error_key,
        "chosen": chosen,
        "values": values or {},
        "action": method_path(role, "replace"),
    }, status=status)


@fresh_signed_in(resume=_here("replace"))
async def replace_form(request: Request[OidcState], person: Person) -> Response:
    """``GET /account/methods/<role>/replace``."""
    role = role_of(request)
    return await _render_choose(request, person, role)


def _enroll_form(form: FormData, fields: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for name in fields:
        if name in _KNOWN_FIELDS:
            value = form.get(name)
            values[name] = value[:_MAX_FIELD_CHARS] if isinstance(value, str) else ""
    return values


@fresh_posted(METHODS_PURPOSE, resume=_here("replace"))
async def replace_submit(request: Request[OidcState], person: Person, form: FormData) -> Response:
    """``POST /account/methods/<role>/replace``: start the new method's enrollment (send the
    code, or show the QR code). The current method is untouched until it is verified."""
    role = role_of(request)
    methods = person.services.methods
    method_id = str(form.get("method") or "")
    method = methods.methods.get(method_id)
    if method is None:
        return await _render_choose(request, person, role, error_key="choose_method",
                                    status=400)
    values = _enroll_form(form, method.info.enroll_fields)
    try:
        await run_in_threadpool(
            lambda: methods.begin_enrollment(person.method_user, role, method_id, values,
                                             transaction=f"account:{person.session.sid}")
        )
    except MethodError as exc:
        # E3 (app twice), E4 (same number), E5 (no SMS to 050 / landlines) and the rest,
        # in the person's language; what they typed stays in the form.
        return await _render_choose(
            request, person, role, error=message_for(request, exc, person), chosen=method_id,
            values=values, status=status_for(exc),
        )
    return see_other(method_path(role, "verify"))


# -- proving it ---------------------------------------------------------------------------------


async def _render_verify(
    request: Request[OidcState], person: Person, role: Role, *, error: str | None = None,
    status: int = 200,
) -> Response:
    methods = person.services.methods
    pending = await run_in_threadpool(
        lambda: methods.pending_enrollment(person.method_user, role,
                                           transaction=f"account:{person.session.sid}")
    )
    if pending is None:
        return see_other(method_path(role, "replace"))
    method = methods.methods.get(pending.method)
    display = dict(pending.display)
    # The QR code is the method plugin's own SVG (segno), built from the otpauth URI only:
    # markup we trust as we trust the plugin's code.
    qr_svg = Markup(display["qr_svg"]) if "qr_svg" in display else None  # noqa: S704
    wait_s = 0 if pending.resend_at is None else max(0, int(pending.resend_at - time.time()))
    return page(request, person, "verify.html", {
        "role": role,
        "pending": pending,
        "label": method.label(person.locale) if method is not None else pending.method,
        "delivers_code": method is not None and method.info.delivers_code,
        "qr_svg": qr_svg,
        "secret_grouped": display.get("secret_grouped"),
        "otpauth_uri": display.get("otpauth_uri"),
        "resend_wait_s": wait_s,
        "error": error,
        "action": method_path(role, "verify"),
        "resend_action": method_path(role, "resend"),
        "cancel_action": method_path(role, "cancel"),
    }, status=status)


@fresh_signed_in(resume=_here("verify"))
async def verify_form(request: Request[OidcState], person: Person) -> Response:
    """``GET /account/methods/<role>/verify``."""
    role = role_of(request)
    return await _render_verify(request, person, role)


def _complete(person: Person, role: Role, code: str, credential: str = ""
              ) -> tuple[str, ...]:
    # A security key answers in the hidden field "credential"; every other method, "code".
    answer = {"credential": credential} if credential else {"code": code}
    result = person.services.methods.complete_enrollment(
        person.method_user, role, answer, transaction=f"account:{person.session.sid}"
    )
    # The change bumped the security epoch (C4: trusted browsers end, and so does every
    # other session); this session is the person's own: keep it.
    person.rebind()
    return result.recovery_codes


@fresh_posted(METHODS_PURPOSE, resume=_here("verify"))
async def verify_submit(request: Request[OidcState], person: Person, form: FormData) -> Response:
    """``POST /account/methods/<role>/verify``: the new method's code. Right: it takes the
    role (the old one is gone only now). Wrong: the form again, with the reason."""
    role = role_of(request)
    code = form.get("code")
    credential = form.get("credential")
    try:
        codes = await run_in_threadpool(
            _complete, person, role, code[:_MAX_FIELD_CHARS] if isinstance(code, str) else "",
            credential[:16_384] if isinstance(credential, str) else "",
        )
    except EnrollmentExpired as exc:
        return await _render_choose(
            request, person, role, error=message_for(request, exc, person),
            status=status_for(exc),
        )
    except MethodError as exc:
        return await _render_verify(
            request, person, role, error=message_for(request, exc, person),
            status=status_for(exc),
        )
    if codes:
        # Enrollment completed for the first time (an imported account, say): E7's codes,
        # shown once.
        return render_new_codes(request, person, codes)
    return see_other(f"{ACCOUNT_PATH}?done=replaced")


@fresh_posted(METHODS_PURPOSE, resume=_here("verify"))
async def resend(request: Request[OidcState], person: Person, _form: FormData) -> Response:
    """``POST /account/methods/<role>/resend``: another code for the pending method
    (cooldown and budgets apply; a refusal is shown on the verify page)."""
    role = role_of(request)
    here = method_path(role, "verify")
    methods = person.services.methods
    try:
        await run_in_threadpool(methods.resend_enrollment_code, person.method_user, role)
    except EnrollmentExpired:
        return see_other(method_path(role, "replace"))
    except MethodError as exc:
        return await _render_verify(
            request, person, role, error=message_for(request, exc, person),
            status=status_for(exc),
        )
    return see_other(here)


@posted(METHODS_PURPOSE, resume=ACCOUNT_PATH)
async def cancel(request: Request[OidcState], person: Person, _form: FormData) -> Response:
    """``POST /account/methods/<role>/cancel``: drop the pending replacement; the current
    method stays as it was."""
    role = role_of(request)
    await run_in_threadpool(
        person.services.methods.cancel_enrollment, person.method_user, role
    )
    return see_other(ACCOUNT_PATH)
