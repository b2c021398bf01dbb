"""The operator's reset of a person's two-step verification (BEHAVIOUR C3, C4), in one place.

``idp users reset-2sv`` and ``POST /admin/api/v1/users/{id}/mfa:reset`` call
:func:`reset_two_step`. Its neighbours live here for the same reason (one rule whichever way
an operator acts): :func:`end_access` (sessions revoked, a deprovisioned person),
:func:`disable_person` and :func:`delete_person`. A reset clears
the person's methods and recovery codes, revokes their trusted browsers, ends their sessions
(back-channel logout queued to the clients they used), moves their security epoch (every
sign-in in progress ends), and returns a one-time **enrollment code**: with the gate a reset
closes (:mod:`idp.methods.gate`), the password alone never sets up new methods; the person
enters this code, handed over by the operator, before set-up. Audited as ``user.reset_2sv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from idp.devices import TrustedBrowsers
from idp.methods.service import MethodService
from idp.notices import Notices
from idp.observability import Audit
from idp.oidc.provider import OidcProvider
from idp.users import Accounts, User, UserNotFound

__all__ = ["AccessEnded", "ResetServices", "TwoStepReset", "delete_person", "disable_person",
           "end_access", "reset_two_step"]


class ResetServices(Protocol):
    @property
    def accounts(self) -> Accounts: ...
    @property
    def methods(self) -> MethodService: ...
    @property
    def devices(self) -> TrustedBrowsers: ...
    @property
    def oidc(self) -> OidcProvider: ...
    @property
    def audit(self) -> Audit: ...
    @property
    def notices(self) -> Notices: ...


@dataclass(frozen=True)
class TwoStepReset:
    """What a reset did. ``enrollment_code`` is shown once to the operator (never logged)."""

    methods_removed: int
    browsers_revoked: int
    logouts_queued: int
    enrollment_code: str = field(repr=False)


@dataclass(frozen=True)
class AccessEnded:
    browsers_revoked: int
    logouts_queued: int


def reset_two_step(services: ResetServices, user: User, *, actor: str,
                   reason: str | None = None) -> TwoStepReset:
    """Reset ``user``'s two-step verification on behalf of ``actor`` (see the module);
    ``reason`` (the support desk's, e.g. "identity checked by phone") goes in the audit."""
    removed = services.methods.reset(user.id, actor=actor)
    code = services.methods.issue_enrollment_code(user.id, actor=actor)
    browsers = services.devices.revoke_all(user.id, actor=actor, reason="reset-2sv")
    queued = services.oidc.logout.end_all(user.id, reason="reset-2sv", actor=actor)
    services.accounts.bump_epoch(user.id, reason="reset-2sv", actor=actor)
    services.audit.emit("user.reset_2sv", user_id=user.id, actor=actor, reason=reason)
    return TwoStepReset(removed, browsers, queued, code)


def end_access(services: ResetServices, user_id: str, *, actor: str, reason: str,
               move_epoch: bool = True) -> AccessEnded:
    """Every way back in closes at once: trusted browsers revoked, sessions ended (their
    refresh tokens revoked, back-channel logout queued to the clients they served), and the
    security epoch moved, so offline refresh tokens and sign-ins in progress stop too."""
    browsers = services.devices.revoke_all(user_id, actor=actor, reason=reason)
    queued = services.oidc.logout.end_all(user_id, reason=reason, actor=actor)
    if move_epoch:  # False only when the caller just moved it (disable_person)
        services.accounts.bump_epoch(user_id, reason=reason, actor=actor)
    return AccessEnded(browsers, queued)


def disable_person(services: ResetServices, user_id: str, *, actor: str) -> User:
    """Disable the account and close every way back in at once (:func:`end_access`: the
    clients hear of it by back-channel logout). ``idp users disable`` and the admin API's
    ``:disable`` call this. Returns the account as now stored."""
    services.accounts.set_status(user_id, "disabled", actor=actor)  # moves the epoch
    end_access(services, user_id, actor=actor, reason="disabled", move_epoch=False)
    user = services.accounts.get(user_id)
    if user is None:
        raise UserNotFound(f"no user with id {user_id!r}")
    return user


def delete_person(services: ResetServices, user: User, *, actor: str) -> None:
    """Delete ``user`` and what is theirs: access ends first (as :func:`end_access`), then
    their methods and recovery codes go (secrets at rest do not outlive the account), then
    the account, then its recent activity and known browsers. What stays: audit events
    (the trail outlives the account), the closed re-enrollment gate (a marker), and
    short-lived counters that expire on their own. ``idp users delete``, the admin API and
    SCIM call this."""
    end_access(services, user.id, actor=actor, reason="deleted")
    services.methods.reset(user.id, actor=actor)
    services.accounts.delete(user.id, actor=actor)
    services.notices.forget(user.id)
