"""``/account/password``: change the password (BEHAVIOUR C4).

The current password, then the new one twice (``autocomplete="current-password"`` and
``"new-password"``, so password managers fill and save the right fields). The policy is the
accounts layer's (length, common passwords, context words; no composition rules). The change
bumps the security epoch: every trusted browser and every *other* session of the person ends;
this session is rebound to the new epoch so the person stays signed in here.

Wrong current passwords are counted per person: a stolen session must not become a way to
guess the password. After ``[limits] password_delay_after`` wrong ones in
``password_lock_s`` the form refuses to check more until the window ends, and the lock is
audited (DESIGN "Limits": password counters, kept apart from code counters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from idp.account.pages import PASSWORD_PATH, page
from idp.account.person import Person, posted, signed_in
from idp.users import PasswordPolicyError

if TYPE_CHECKING:
    from idp.oidc.state import OidcState

__all__ = ["PASSWORD_PURPOSE", "password_form", "password_submit"]

PASSWORD_PURPOSE: Final = "account.password"  # noqa: S105 - a CSRF purpose name
# Longer than any allowed password ([passwords] max_length is at most 1024): not worth
# hashing, and never echoed anyway.
_MAX_CHARS: Final = 4096
_FAILURES_PREFIX: Final = "account:password-change-failures:"


@dataclass(frozen=True)
class _Outcome:
    changed: bool
    error_key: str | None = None
    status: int = 200


def _change(person: Person, current: str, new: str, again: str) -> _Outcome:
    services, user = person.services, person.user
    limits = services.settings.limits
    failures_key = f"{_FAILURES_PREFIX}{user.id}"
    raw = services.store.get(failures_key)
    if raw is not None and int(raw) >= limits.password_delay_after:
        return _Outcome(False, "locked", 429)
    if new != again:
        return _Outcome(False, "mismatch", 400)
    try:
        services.accounts.passwords.check_policy(new, email=user.email)
    except PasswordPolicyError as exc:
        return _Outcome(False, exc.code, 400)
    if not services.accounts.check_password(user, current):
        failures = services.store.incr(failures_key, ttl=limits.password_lock_s)
        if failures >= limits.password_delay_after:
            services.audit.emit("account.password_change_locked", user_id=user.id,
                                failures=failures)
            return _Outcome(False, "locked", 429)
        return _Outcome(False, "wrong_current", 400)
    services.store.delete(failures_key)
    services.accounts.set_password(user.id, new, actor="user")
    # set_password bumped the epoch, which already refuses old trusted-browser cookies;
    # deleting the records keeps the settings page and `idp devices list` honest (C4).
    services.devices.on_security_change(user.id, reason="password", actor="user")
    person.rebind()
    return _Outcome(True)


def _render(request: Request[OidcState], person: Person, outcome: _Outcome) -> Response:
    settings = person.services.settings.passwords
    return page(request, person, "password.html", {
        "action": PASSWORD_PATH,
        "changed": outcome.changed,
        "error_key": outcome.error_key,
        "min_length": settings.min_length,
        "max_length": settings.max_length,
    }, status=outcome.status)


@signed_in(resume=PASSWORD_PATH)
async def password_form(request: Request[OidcState], person: Person) -> Response:
    """``GET /account/password``."""
    return _render(request, person, _Outcome(False))


def _field(value: object) -> str:
    return value[:_MAX_CHARS] if isinstance(value, str) else ""


@posted(PASSWORD_PURPOSE, resume=PASSWORD_PATH)
async def password_submit(request: Request[OidcState], person: Person, form: FormData) -> Response:
    """``POST /account/password`` (``current_password``, ``new_password``,
    ``new_password_again``)."""
    outcome = await run_in_threadpool(
        _change, person, _field(form.get("current_password")), _field(form.get("new_password")),
        _field(form.get("new_password_again")),
    )
    return _render(request, person, outcome)
