"""``/account/recovery-codes``: how many are left, and a new set (BEHAVIOUR E7, C2, C3, C4).

A new set voids every old code at once. The codes are shown exactly once, in the response
to the request that made them (stored only as hashes, they can't be shown again), with a
download of the same text and a printable layout. Making them needs a fresh code (C2): a
recovery code signs a person in without either device. The change bumps the security epoch
(C4), so this session is rebound to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.account.pages import RECOVERY_PATH, page
from idp.account.person import Person, fresh_posted, fresh_signed_in
from idp.methods import MethodError
from idp.web.errors import status_for
from idp.web.templating import Templates

if TYPE_CHECKING:
    from idp.oidc.state import OidcState

__all__ = ["RECOVERY_PURPOSE", "recovery_form", "recovery_submit", "render_new_codes"]

RECOVERY_PURPOSE: Final = "account.recovery-codes"


def render_new_codes(request: Request[OidcState], person: Person, codes: Sequence[str]) -> Response:
    """The page that shows a new set once (no-store, like every settings page)."""
    return page(request, person, "recovery_codes.html", {"codes": list(codes)})


async def _render_form(
    request: Request[OidcState], person: Person, *, error: str | None = None, status: int = 200
) -> Response:
    left = await run_in_threadpool(person.services.methods.recovery_codes_left, person.user.id)
    return page(request, person, "recovery.html",
                {"left": left, "error": error, "action": RECOVERY_PATH}, status=status)


@fresh_signed_in(resume=RECOVERY_PATH)
async def recovery_form(request: Request[OidcState], person: Person) -> Response:
    """``GET /account/recovery-codes``: the count, and the button for a new set."""
    return await _render_form(request, person)


def _regenerate(person: Person) -> tuple[str, ...]:
    codes = person.services.methods.regenerate_recovery_codes(person.method_user)
    person.rebind()
    return codes


@fresh_posted(RECOVERY_PURPOSE, resume=RECOVERY_PATH)
async def recovery_submit(request: Request[OidcState], person: Person, _form: FormData) -> Response:
    """``POST /account/recovery-codes``: a new set, shown once; the old codes stop working."""
    try:
        codes = await run_in_threadpool(_regenerate, person)
    except MethodError as exc:  # NotEnrolled: no codes without two methods
        templates: Templates = request.state["templates"]
        message = templates.catalogues.message_for(exc, person.locale)
        return await _render_form(request, person, error=message, status=status_for(exc))
    return render_new_codes(request, person, codes)
