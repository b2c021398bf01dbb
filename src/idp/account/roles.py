"""Swapping primary and backup, and removing a method (BEHAVIOUR C1, C2).

- ``GET/POST /account/methods/swap``: the backup becomes the primary and the primary the
  backup (a person who now mostly uses the backup). Both stay verified; a fresh code is
  needed (C2).
- ``POST /account/methods/<role>/remove``: refused while both methods are set, because a
  person never has fewer than two verified methods (C2); the page says to replace the method
  instead. ``MethodService`` refuses it too: the check here only spares the person a code
  for a change that cannot happen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.account.overview import render_overview
from idp.account.pages import ACCOUNT_PATH, SWAP_PATH, page, see_other
from idp.account.person import Person, fresh_posted, fresh_signed_in, posted, step_up
from idp.account.replace import METHODS_PURPOSE, message_for, role_of
from idp.account.views import method_entries
from idp.methods import MethodError, TooFewMethods
from idp.methods.credentials import Role

if TYPE_CHECKING:
    from idp.oidc.state import OidcState

__all__ = ["remove", "swap_form", "swap_submit"]

# 409 Conflict: the request is understood, but the person's methods don't allow it now.
REFUSED_STATUS: Final = 409


async def _render_swap(
    request: Request[OidcState], person: Person, *, error: str | None = None, status: int = 200
) -> Response:
    views = await run_in_threadpool(person.services.methods.credentials, person.method_user)
    return page(request, person, "swap.html", {
        "methods": method_entries(views, person.locale),
        "error": error,
        "action": SWAP_PATH,
    }, status=status)


@fresh_signed_in(resume=SWAP_PATH)
async def swap_form(request: Request[OidcState], person: Person) -> Response:
    """``GET /account/methods/swap``: what will change, and the button."""
    return await _render_swap(request, person)


def _swap(person: Person) -> None:
    person.services.methods.swap_roles(person.method_user)
    person.rebind()


@fresh_posted(METHODS_PURPOSE, resume=SWAP_PATH)
async def swap_submit(request: Request[OidcState], person: Person, _form: FormData) -> Response:
    """``POST /account/methods/swap``."""
    try:
        await run_in_threadpool(_swap, person)
    except MethodError as exc:  # the operator's role lists may not allow the swapped pair
        return await _render_swap(request, person, error=message_for(request, exc, person),
                                  status=REFUSED_STATUS)
    return see_other(f"{ACCOUNT_PATH}?done=swapped")


def _remove(person: Person, role: Role) -> None:
    person.services.methods.remove(person.method_user, role)
    person.rebind()


@posted(METHODS_PURPOSE, resume=ACCOUNT_PATH)
async def remove(request: Request[OidcState], person: Person, _form: FormData) -> Response:
    """``POST /account/methods/<role>/remove``."""
    role = role_of(request)
    methods = person.services.methods
    if await run_in_threadpool(methods.is_enrolled, person.user.id):
        return await render_overview(
            request, person, error=message_for(request, TooFewMethods(), person),
            status=REFUSED_STATUS,
        )
    if not person.fresh():
        return await step_up(request, person, resume=ACCOUNT_PATH)
    try:
        await run_in_threadpool(_remove, person, role)
    except MethodError as exc:
        return await render_overview(request, person, error=message_for(request, exc, person),
                                     status=REFUSED_STATUS)
    return see_other(ACCOUNT_PATH)
