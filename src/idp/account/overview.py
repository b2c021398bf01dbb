"""``/account``: the security settings overview, trusted browsers, and signing out.

The overview lists the person's two methods (described, never a secret or a full number),
the browsers that don't require a code ("2 browsers don't require a code", BEHAVIOUR T3)
with the A1 warning when there are many, how many recovery codes are left, and links to
every change. Removing a trusted browser needs no fresh code: it only takes trust away, and
takes effect at once on every replica because the server record is the authority (T4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.account.pages import ACCOUNT_PATH, NO_STORE, page, see_other
from idp.account.person import Person, find_person, posted, signed_in
from idp.account.views import DONE_NOTICES, browser_entries, method_entries
from idp.notices.pages import account_sections
from idp.notices.service import Notices
from idp.notices.state import notices_of
from idp.web.templating import Templates

if TYPE_CHECKING:
    from idp.oidc.state import OidcState

__all__ = [
    "BROWSERS_PURPOSE",
    "SIGN_OUT_PURPOSE",
    "overview",
    "remove_all_browsers",
    "remove_browser",
    "render_overview",
    "sign_out",
]

BROWSERS_PURPOSE: Final = "account.browsers"
SIGN_OUT_PURPOSE: Final = "account.sign-out"
# The actor recorded in audit events for changes the person makes on these pages.
ACTOR: Final = "user"


def _overview_data(person: Person, notices: Notices) -> dict[str, Any]:
    services, user = person.services, person.user
    methods = services.methods.credentials(person.method_user)
    browsers = services.devices.list(user)
    return {
        "methods": method_entries(methods, person.locale),
        "enrolled": services.methods.is_enrolled(user.id),
        "browsers": browser_entries(browsers, person.locale),
        # A1: many trusted browsers on one account suggest it is shared.
        "many_browsers": services.devices.many(user),
        "recovery_left": services.methods.recovery_codes_left(user.id),
        # The email address and recent activity (idp.notices).
        **account_sections(notices, user, person.locale),
    }


async def render_overview(
    request: Request[OidcState],
    person: Person,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The overview, with a notice (a msgid) or an error (already translated) on top."""
    data = await run_in_threadpool(_overview_data, person, notices_of(request))
    return page(request, person, "overview.html",
                {**data, "notice": notice, "error": error}, status=status)


@signed_in(resume=ACCOUNT_PATH)
async def overview(request: Request[OidcState], person: Person) -> Response:
    """``GET /account``. Signed out: the sign-in journey, which comes back here."""
    notice = DONE_NOTICES.get(request.query_params.get("done", ""))
    return await render_overview(request, person, notice=notice)


@posted(BROWSERS_PURPOSE, resume=ACCOUNT_PATH)
async def remove_browser(request: Request[OidcState], person: Person, form: FormData) -> Response:
    """``POST /account/browsers/remove`` (``device_id``): that browser asks for a code at
    its next sign-in (T3, T4)."""
    device_id = str(form.get("device_id") or "")
    removed = await run_in_threadpool(
        person.services.devices.revoke, person.user.id, device_id, ACTOR
    )
    return see_other(f"{ACCOUNT_PATH}?done=browser_removed" if removed else ACCOUNT_PATH)


@posted(BROWSERS_PURPOSE, resume=ACCOUNT_PATH)
async def remove_all_browsers(
    request: Request[OidcState], person: Person, _form: FormData
) -> Response:
    """``POST /account/browsers/remove-all``: every browser asks for a code again (T3)."""
    devices = person.services.devices
    await run_in_threadpool(devices.revoke_all, person.user.id, ACTOR)
    response = see_other(f"{ACCOUNT_PATH}?done=browsers_removed")
    # This browser's own cookie is worthless now; dropping it spares the next sign-in an
    # audited "unknown browser" rejection.
    for cookie in devices.clear_cookies(person.user.id):
        response.set_cookie(**cookie.set_cookie_kwargs())
    return response


async def sign_out(request: Request[OidcState]) -> Response:
    """``POST /account/sign-out``: end this browser's SSO session and forget its cookie.

    Clients the session served are not told here; RP-initiated and back-channel logout are
    the OIDC provider's (``/logout``).
    """
    templates: Templates = request.state["templates"]
    services = request.state["services"]
    person = await find_person(request)
    await templates.csrf.protect(request, SIGN_OUT_PURPOSE)
    if person is not None:
        await run_in_threadpool(
            services.oidc.logout.end, person.session, reason="signed_out", actor=ACTOR
        )
        locale = person.locale
    else:
        locale = templates.locale_for(request)
    response = templates.render(request, "account/signed_out.html", {}, locale=locale,
                                headers=NO_STORE)
    response.set_cookie(**services.sessions.clear_cookie().set_cookie_kwargs())
    return response
