"""Who is looking at a settings page, and the two gates every page goes through: decorators
that hand the handler the person (and the verified form), or answer for it.

1. Signed in: the browser's live SSO session (``idp.login.current_session``). Signed out,
   the page starts the sign-in journey and asks to come back to itself.
2. For changes of methods and recovery codes (BEHAVIOUR C2): a second factor passed in this
   session within ``[lifetimes] fresh_second_factor_s`` (10 min). Otherwise the journey is
   started again with ``force_code`` (step-up: a code even on a trusted browser), and it
   returns to the page that asked.

A change the person makes bumps their security epoch (C4: that is what ends trusted
browsers and every *other* session); :meth:`Person.rebind` then moves this session to the
new epoch, so the person stays signed in on the page where they made the change.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.login import LoginRequirements, current_session, start_login
from idp.methods import MethodUser
from idp.oidc.state import OidcState
from idp.sessions import SsoSession
from idp.users import User, method_user
from idp.web.i18n import LocaleCode
from idp.web.templating import Templates

if TYPE_CHECKING:
    from idp.oidc.state import OidcServices

__all__ = [
    "Person", "find_person", "fresh_posted", "fresh_signed_in", "posted", "signed_in", "step_up",
]


@dataclass
class Person:
    """The signed-in person of one request, their session, and the page language."""

    services: OidcServices
    session: SsoSession
    user: User
    locale: LocaleCode

    @property
    def method_user(self) -> MethodUser:
        """The person as the methods see them, in the page's language (descriptions)."""
        return method_user(self.user, self.locale)

    def fresh(self) -> bool:
        """A code was entered in this session recently enough to change methods (C2)."""
        within = self.services.settings.lifetimes.fresh_second_factor_s
        return self.session.fresh_second_factor(within)

    def rebind(self) -> None:
        """After a change of this person's own methods, recovery codes or password: keep
        this session (and only this one) valid under the new security epoch. Synchronous:
        call it in the thread pool."""
        current = self.services.accounts.get(self.user.id)
        if current is None:
            return
        self.user = current
        if self.session.epoch != current.security_epoch:
            updated = self.services.sessions.update(self.session, epoch=current.security_epoch)
            # None: the session ended meanwhile; the next request starts a sign-in.
            if updated is not None:
                self.session = updated


def _find(request: Request[OidcState], services: OidcServices) -> tuple[SsoSession, User] | None:
    session = current_session(request, services)
    if session is None:
        return None
    user = services.accounts.get(session.user_id)
    if user is None or not user.active:
        return None
    return session, user


async def find_person(request: Request[OidcState]) -> Person | None:
    """The signed-in person of this request, or ``None``."""
    services: OidcServices = request.state["services"]
    templates: Templates = request.state["templates"]
    found = await run_in_threadpool(_find, request, services)
    if found is None:
        return None
    session, user = found
    locale = templates.locale_for(request, user_locale=user.locale)
    return Person(services=services, session=session, user=user, locale=locale)


async def _start(request: Request[OidcState], resume: str) -> Response:
    requirements = LoginRequirements(resume=resume)
    return await run_in_threadpool(start_login, request, requirements)


# A gate's ``resume``: the page to come back to (a local GET path), or how to read it from
# the request (``/account/methods/<role>/...``).
Resume = str | Callable[[Request[OidcState]], str]
Page = Callable[[Request[OidcState]], Awaitable[Response]]
PersonPage = Callable[[Request[OidcState], Person], Awaitable[Response]]
FormPage = Callable[[Request[OidcState], Person, FormData], Awaitable[Response]]


def _resume_of(request: Request[OidcState], resume: Resume) -> str:
    return resume if isinstance(resume, str) else resume(request)


def signed_in(*, resume: Resume, fresh: bool = False) -> Callable[[PersonPage], Page]:
    """Gate 1 for a GET page: the handler gets the signed-in person; signed out, the sign-in
    journey starts and comes back to ``resume``. ``fresh`` adds gate 2 (C2): a second factor
    within the last few minutes, else the step-up that asks for one (see ``step_up``)."""

    def gate(handler: PersonPage) -> Page:
        @functools.wraps(handler)
        async def page(request: Request[OidcState]) -> Response:
            back = _resume_of(request, resume)
            person = await find_person(request)
            if person is None:
                return await _start(request, back)
            if fresh and not person.fresh():
                return await step_up(request, person, resume=back)
            return await handler(request, person)

        return page

    return gate


def posted(purpose: str, *, resume: Resume, fresh: bool = False) -> Callable[[FormPage], Page]:
    """Gate 1 for a POST: the handler gets the signed-in person and the form, once its CSRF
    token for ``purpose`` is verified (``CsrfError``, a 403 page, otherwise); signed out, the
    sign-in journey back to ``resume`` (a GET page). The person is looked up first so that a
    refusal speaks their language; nothing is started before the token is checked.
    ``fresh`` as in :func:`signed_in`."""

    def gate(handler: FormPage) -> Page:
        @functools.wraps(handler)
        async def page(request: Request[OidcState]) -> Response:
            back = _resume_of(request, resume)
            templates = request.state["templates"]
            person = await find_person(request)
            form = await templates.csrf.protect(request, purpose)
            if person is None:
                return await _start(request, back)
            if fresh and not person.fresh():
                return await step_up(request, person, resume=back)
            return await handler(request, person, form)

        return page

    return gate


def fresh_signed_in(*, resume: Resume) -> Callable[[PersonPage], Page]:
    """:func:`signed_in` with gate 2 (C2): for the pages that change methods and codes."""
    return signed_in(resume=resume, fresh=True)


def fresh_posted(purpose: str, *, resume: Resume) -> Callable[[FormPage], Page]:
    """:func:`posted` with gate 2 (C2)."""
    return posted(purpose, resume=resume, fresh=True)


async def step_up(request: Request[OidcState], person: Person, *, resume: str) -> Response:
    """Ask for a fresh code (C2) and come back to ``resume`` (a GET page) afterwards."""
    requirements = LoginRequirements(resume=resume, force_code=True)
    return await run_in_threadpool(start_login, request, requirements)
