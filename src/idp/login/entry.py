"""The ways into the sign-in journey for the other areas: :func:`start_login` (the OIDC
provider, the settings page), :func:`current_session`, and :func:`unlock` for the operator's
``idp users unlock EMAIL``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from idp.login.limits import PasswordLimits, limits_secret
from idp.login.model import LoginRequirements
from idp.login.responses import (
    STEP_URLS,
    current_session,
    redirect,
    token_of,
)
from idp.login.state import LoginStateT

if TYPE_CHECKING:
    from idp.login.core import LoginServices

__all__ = ["current_session", "start_login", "unlock"]


def start_login(request: Request[LoginStateT], requirements: LoginRequirements) -> Response:
    """Synchronous (call it in the thread pool). Saves a login transaction (15 min, in the
    Store) bound to this browser by a cookie and answers 303 to ``/login``, or straight to
    the code step for a step-up (a live SSO session and only ``force_code`` asked). A live
    session and nothing forced: 303 to ``requirements.resume`` at once, no transaction.
    When the journey ends, the SSO session cookie is set and the browser is sent 303 to
    ``requirements.resume``."""
    machine = request.state["login"]
    session = current_session(request, machine.services)
    started = machine.start(requirements, session, old_token=token_of(request, machine))
    if started.token is None:
        return redirect(requirements.resume)
    return redirect(STEP_URLS[started.step], (machine.transactions.cookie(started.token),))


def unlock(services: LoginServices, email: str, *, actor: str = "cli") -> bool:
    """Clear the password limits of ``email`` (delay, lock, hard stop; BEHAVIOUR S4): what
    ``idp users unlock EMAIL`` does. Works for any address typed, account or not. Audited
    as ``login.unlocked``. Returns whether anything was set."""
    limits = PasswordLimits(services.store, services.settings.limits,
                            limits_secret(services.settings))
    cleared = limits.unlock(limits.subject(email))
    user = services.accounts.find_by_email(email)
    services.audit.emit("login.unlocked", user_id=None if user is None else user.id,
                        actor=actor, cleared=cleared)
    return cleared
