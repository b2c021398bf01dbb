"""A security-key method's keys on /account: add one more, remove one (BEHAVIOUR C2, C4).

- ``POST /account/methods/<role>/keys/add`` (``key_name``): the registration ceremony page.
- ``POST /account/methods/<role>/keys/verify`` (``credential``): the new key is saved.
- ``POST /account/methods/<role>/keys/remove`` (``key_id``): one key goes. Removing the last
  key would remove the method, so it is refused while both methods are set (C2), exactly as
  ``/account/methods/<role>/remove`` is.

Every change needs a second factor from the last minutes (step-up otherwise, C2) and ends
trusted browsers (C4, through ``MethodService``'s announcement). The ceremony is bound to
this SSO session (its challenge is taken once, on success or failure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.account.overview import render_overview
from idp.account.pages import ACCOUNT_PATH, method_path, page, see_other
from idp.account.person import Person, fresh_posted, posted, step_up
from idp.account.replace import METHODS_PURPOSE, message_for, role_of
from idp.methods import MethodError, TooFewMethods
from idp.methods.credentials import Role

if TYPE_CHECKING:
    from idp.oidc.state import OidcState

__all__ = ["add_key", "remove_key", "verify_key"]

REFUSED_STATUS: Final = 409
# A security key's answer (the ceremony's JSON in a hidden field) is a few kilobytes.
ANSWER_CHARS: Final = 16_384


def _transaction(person: Person) -> str:
    return f"account:{person.session.sid}"


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


@fresh_posted(METHODS_PURPOSE, resume=ACCOUNT_PATH)
async def add_key(request: Request[OidcState], person: Person, form: FormData) -> Response:
    """``POST /account/methods/<role>/keys/add``: start registering one more key."""
    role = role_of(request)
    return await _render_add(request, person, role, {"key_name": _text(form.get("key_name"),
                                                                        256)})


async def _render_add(
    request: Request[OidcState], person: Person, role: Role, form: dict[str, str], *,
    error: str | None = None, status: int = 200,
) -> Response:
    methods = person.services.methods
    try:
        sent = await run_in_threadpool(
            lambda: methods.begin_add_key(person.method_user, role, form,
                                          transaction=_transaction(person))
        )
    except MethodError as exc:
        return await render_overview(request, person, error=message_for(request, exc, person),
                                     status=400)
    return page(request, person, "key_add.html", {
        "role": role, "ceremony": sent.ceremony, "key_name": form.get("key_name", ""),
        "action": method_path(role, "keys/verify"), "error": error,
    }, status=status)


@fresh_posted(METHODS_PURPOSE, resume=ACCOUNT_PATH)
async def verify_key(request: Request[OidcState], person: Person, form: FormData) -> Response:
    """``POST /account/methods/<role>/keys/verify``: the registration's answer."""
    role = role_of(request)
    answer = {"credential": _text(form.get("credential"), ANSWER_CHARS)}

    def complete() -> None:
        person.services.methods.complete_add_key(person.method_user, role, answer,
                                                 transaction=_transaction(person))
        person.rebind()  # the change bumped the epoch (C4); this session is the person's

    try:
        await run_in_threadpool(complete)
    except MethodError as exc:
        # A fresh ceremony with the reason on top (the refused one was taken).
        return await _render_add(request, person, role,
                                 {"key_name": _text(form.get("key_name"), 256)},
                                 error=message_for(request, exc, person), status=400)
    return see_other(f"{ACCOUNT_PATH}?done=key_added")


@posted(METHODS_PURPOSE, resume=ACCOUNT_PATH)
async def remove_key(request: Request[OidcState], person: Person, form: FormData) -> Response:
    """``POST /account/methods/<role>/keys/remove`` (``key_id``)."""
    role = role_of(request)
    key_id = _text(form.get("key_id"), 256)
    methods = person.services.methods

    def last_key_of_a_pair() -> bool:
        views = methods.credentials(person.method_user)
        view = views.get(role)
        return view is not None and len(view.keys) <= 1 and len(views) == 2

    if await run_in_threadpool(last_key_of_a_pair):
        # C2: refused before any step-up: no code can make this change possible.
        return await render_overview(
            request, person, error=message_for(request, TooFewMethods(), person),
            status=REFUSED_STATUS,
        )
    if not person.fresh():
        return await step_up(request, person, resume=ACCOUNT_PATH)

    def remove() -> None:
        methods.remove_key(person.method_user, role, key_id)
        person.rebind()

    try:
        await run_in_threadpool(remove)
    except MethodError as exc:
        return await render_overview(request, person, error=message_for(request, exc, person),
                                     status=REFUSED_STATUS)
    return see_other(f"{ACCOUNT_PATH}?done=key_removed")
