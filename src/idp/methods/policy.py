"""The enrollment policy: which pairs of methods a person may have (BEHAVIOUR E2-E5).

- E2: two methods, a primary and a backup (the service keeps exactly these two roles).
- Which methods may serve in each role: ``[enrollment] primary`` / ``backup``.
- E3: with ``require_phone`` (default), at least one of the two is a ``Channel.PHONE``
  method, or the two are an app and a security key (``Channel.KEY``), so an authenticator
  app is never both: losing the phone that runs the app must not lose both factors.
- E4: unless ``allow_same_phone``, the two may not use the same number, compared after
  normalisation to E.164 (``090-1234-5678`` in JP is ``+81 90 1234 5678``): one lost or
  swapped SIM must not take both factors.
- E5 (what numbers a method accepts) is each phone method's own rule; see
  :mod:`idp.methods.phone`.

Pure functions of the settings and the two choices: no Store, no plugins, so it can be
tested exhaustively and checked before anything is written (imports).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from idp.methods.base import Channel, MethodInfo
from idp.methods.errors import AppBothRoles, RoleNotAllowed, SamePhoneTwice
from idp.settings import EnrollmentSettings

__all__ = ["Choice", "EnrollmentPolicy"]

ROLES = ("primary", "backup")


@dataclass(frozen=True)
class Choice:
    """One role's method as the policy sees it. ``phone_key`` identifies the normalised
    number (its E.164 form, or the keyed hash of it); both sides of a comparison MUST use
    the same kind of key."""

    method: str
    channel: Channel
    phone_key: str | None = field(default=None, repr=False)


class EnrollmentPolicy:
    """E2-E5 as configured by the operator."""

    def __init__(self, settings: EnrollmentSettings) -> None:
        self.settings = settings

    def allowed(self, role: str) -> tuple[str, ...]:
        """Method ids the operator allows in ``role``."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return tuple(self.settings.primary if role == "primary" else self.settings.backup)

    def check_role(self, role: str, method_id: str) -> None:
        if method_id not in self.allowed(role):
            raise RoleNotAllowed(role=role, field="method")

    def check_pair(self, primary: Choice, backup: Choice) -> None:
        """Raise the first rule the pair breaks: :class:`RoleNotAllowed`,
        :class:`AppBothRoles` (E3) or :class:`SamePhoneTwice` (E4)."""
        self.check_role("primary", primary.method)
        self.check_role("backup", backup.method)
        if (
            self.settings.require_phone
            and primary.channel is not Channel.PHONE
            and backup.channel is not Channel.PHONE
            # A security key is a device of its own: an app plus a key survives the loss
            # of either, which is what E3 protects. Two apps, or two key methods, do not.
            and primary.channel is backup.channel
        ):
            raise AppBothRoles(field="method")
        if (
            not self.settings.allow_same_phone
            and primary.phone_key is not None
            and primary.phone_key == backup.phone_key
        ):
            raise SamePhoneTwice(field="phone")

    def check(self, role: str, candidate: Choice, other: Choice | None) -> None:
        """Check ``candidate`` for ``role`` against the method already in the other role
        (``None`` if there is none yet)."""
        self.check_role(role, candidate.method)
        if other is None:
            return
        if role == "primary":
            self.check_pair(candidate, other)
        else:
            self.check_pair(other, candidate)

    def choosable(
        self, role: str, other: Choice | None, methods: Mapping[str, MethodInfo]
    ) -> tuple[str, ...]:
        """The enabled methods a person may pick for ``role`` given the other role, before
        any number is known (so E4 is not applied): what a chooser page lists."""
        found = []
        for method_id in self.allowed(role):
            info = methods.get(method_id)
            if info is None:
                continue
            candidate = Choice(method_id, info.channel)
            try:
                self.check(role, candidate, other)
            except (RoleNotAllowed, AppBothRoles):
                continue
            found.append(method_id)
        return tuple(found)

    def config_problems(self, methods: Mapping[str, MethodInfo]) -> list[str]:
        """Why no person could complete enrollment with these settings and enabled methods,
        one line each; empty when some pair is possible. Ids listed but not enabled are
        ignored (a deployment may turn a method off without editing both lists)."""
        primaries = [m for m in self.settings.primary if m in methods]
        backups = [m for m in self.settings.backup if m in methods]
        problems = []
        if not primaries:
            problems.append("enrollment.primary: none of the listed methods is enabled")
        if not backups:
            problems.append("enrollment.backup: none of the listed methods is enabled")
        if problems:
            return problems
        for p in primaries:
            for b in backups:
                try:
                    self.check_pair(
                        Choice(p, methods[p].channel), Choice(b, methods[b].channel)
                    )
                except (RoleNotAllowed, AppBothRoles):
                    continue
                return []
        return [
            "enrollment: require_phone is true but no enabled phone method (sms, voice, ...) "
            "is allowed as primary or backup, so nobody could finish enrollment"
        ]
