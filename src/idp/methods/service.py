"""``MethodService``: the one driver of second-factor methods for pages and the CLI.

It lists methods, runs enrollment and sign-in challenges, changes and resets a person's
methods, handles recovery codes and imports, with every guarantee of the core applied:
limits, expiry, single use, encryption at rest, audit. Every method is synchronous and
thread-safe; state lives in the Store, so any replica can serve any step.

Changes of methods or recovery codes are announced to ``listeners`` (:class:`MethodChange`)
after they are committed: the accounts layer bumps the person's security epoch there, which
ends trusted browsers (BEHAVIOUR C4). Whether a change needs a fresh second factor (C2) is
the session's decision, made before calling in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from idp.crypto import DataKeys
from idp.delivery.registry import Delivery
from idp.methods.base import Credential, Method, MethodUser
from idp.methods.codes import CodeService, IssuedCode
from idp.methods.context import MethodContext
from idp.methods.core import (
    ChallengeSent,
    CredentialView,
    EnrollmentResult,
    MethodChange,
    MethodChoice,
    MethodCore,
    PendingEnrollment,
    VerifyResult,
    is_ceremony,
    key_name,
)
from idp.methods.credentials import (
    ENROLL_PREFIX,
    ROLES,
    Credentials,
    CredentialStore,
    Role,
    StoredCredential,
)
from idp.methods.enrollment import Enrollments
from idp.methods.errors import (
    KeyNotFound,
    KeyRefused,
    NotEnrolled,
    TooFewMethods,
    WrongCode,
)
from idp.methods.gate import ReenrollmentGate
from idp.methods.imports import ImportRow, Imports, PreparedImport
from idp.methods.limits import AttemptLimiter, SendGuard
from idp.methods.policy import EnrollmentPolicy
from idp.methods.recovery import RecoveryCodes
from idp.methods.registry import MethodLoadError, build_methods, check_class, load_methods
from idp.observability import Audit
from idp.settings import Settings
from idp.store import Store

__all__ = [
    "ChallengeSent",
    "CredentialView",
    "EnrollmentResult",
    "ImportRow",
    "MethodChange",
    "MethodChoice",
    "MethodService",
    "PendingEnrollment",
    "PreparedImport",
    "Role",
    "VerifyResult",
]

RECOVERY_SUBJECT = "recovery"


class MethodService:
    """See the module docstring. Build it with :meth:`from_settings`."""

    def __init__(self, core: MethodCore) -> None:
        self._core = core
        self._enroll = Enrollments(core)
        self._imports = Imports(core)
        self._gate = ReenrollmentGate(core.store, core.credentials.keyed_hash, core.clock)
        # Called with a MethodChange after every committed change (C4: bump the epoch).
        self.listeners: list[Callable[[MethodChange], None]] = core.listeners

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        *,
        audit: Audit,
        delivery: Delivery | None,
        clock: Callable[[], float] = time.time,
        classes: Mapping[str, type[Method[Any]]] | None = None,
        code_observer: Callable[[str, IssuedCode], None] | None = None,
    ) -> MethodService:
        """Load the methods enabled in ``settings.methods`` (through entry points, or
        ``classes`` given directly by the contract kit) and wire the core. Raises
        ``MethodLoadError`` / ``DataKeyError`` (both ``SettingsError``) with one line per
        problem. ``code_observer`` is for test harnesses only: it sees every issued code."""
        keys = DataKeys.from_settings(settings.secrets)
        credentials = CredentialStore(store, keys)
        codes = CodeService(
            store, lifetime_s=settings.lifetimes.code_s, pepper=credentials.lookup_key,
            clock=clock, observer=code_observer,
        )

        def make_context(method_id: str) -> MethodContext:
            return MethodContext(
                method_id=method_id,
                service_name=settings.ui.service_name,
                default_region=settings.enrollment.default_region,
                default_locale=settings.ui.default_locale,
                drift_steps=settings.limits.totp_window_steps,
                codes=codes,
                delivery=delivery,
                clock=clock,
                # [server] conformance (docs/conformance.md): a fixed code passes.
                conformance_mode=settings.server.conformance,
            )

        if classes is None:
            methods = load_methods(settings.methods, make_context)
        else:
            checked = {name: check_class(name, c, c.__qualname__) for name, c in classes.items()}
            methods = build_methods(checked, settings.methods, make_context)
        policy = EnrollmentPolicy(settings.enrollment)
        problems = policy.config_problems({m: x.info for m, x in methods.items()})
        if problems:
            raise MethodLoadError(problems)
        core = MethodCore(
            store=store,
            methods=methods,
            credentials=credentials,
            codes=codes,
            attempts=AttemptLimiter(store, settings.limits, settings.lifetimes.code_s),
            sends=SendGuard(store, settings.limits, clock),
            recovery=RecoveryCodes(
                store, credentials.keyed_hash, settings.enrollment.recovery_codes
            ),
            policy=policy,
            lifetimes=settings.lifetimes,
            audit=audit,
            clock=clock,
        )
        return cls(core)

    # -- what exists -------------------------------------------------------------------------

    @property
    def methods(self) -> Mapping[str, Method[Any]]:
        """The enabled methods by id."""
        return self._core.methods

    def available(self, user: MethodUser, role: Role) -> list[MethodChoice]:
        """Methods the person may choose for ``role`` now (role lists and E3 applied
        against their method in the other role)."""
        core = self._core
        current = core.credentials.load(user.id)
        other = core.choice(current.get("backup" if role == "primary" else "primary"))
        infos = {m: x.info for m, x in core.methods.items()}
        return [
            MethodChoice(m, core.methods[m].label(user.locale), infos[m].channel,
                         infos[m].delivers_code, infos[m].enroll_fields)
            for m in core.policy.choosable(role, other, infos)
        ]

    def credentials(self, user: MethodUser) -> dict[Role, CredentialView]:
        """The person's verified methods by role, described in ``user.locale``."""
        return {
            role: self._core.view(user.id, stored, user.locale)
            for role, stored in self._core.credentials.load(user.id).items()
        }

    def is_enrolled(self, user_id: str) -> bool:
        """``True`` when both primary and backup are verified (E1, E2)."""
        return all(role in self._core.credentials.load(user_id) for role in ROLES)

    # -- enrollment (E2-E7) and replacement (C1, C2) ---------------------------------------------

    def begin_enrollment(
        self, user: MethodUser, role: Role, method_id: str, form: Mapping[str, str], *,
        transaction: str = "",
    ) -> PendingEnrollment:
        """Start enrolling ``method_id`` as ``role`` (replacing the current one, if any, once
        verified): validates ``form``, applies the policy, sends the first code. Raises
        ``EnrollmentInvalid`` subclasses, ``MethodNotEnabled``, ``ResendTooSoon``,
        ``BudgetExhausted``, ``DeliveryFailed`` (the enrollment stays pending: resend)."""
        return self._enroll.begin(user, role, method_id, form, transaction)

    def pending_enrollment(
        self, user: MethodUser, role: Role, *, transaction: str = ""
    ) -> PendingEnrollment | None:
        """The enrollment waiting for its code (for a reloaded page), or ``None``. For a
        CEREMONY method each call starts a fresh ceremony (``ceremony`` holds its
        options), bound to ``transaction``."""
        return self._enroll.pending(user, role, transaction)

    def resend_enrollment_code(
        self, user: MethodUser, role: Role, *, transaction: str = ""
    ) -> PendingEnrollment:
        """Send the pending enrollment's code again (cooldown and budgets apply)."""
        return self._enroll.resend(user, role, transaction)

    def complete_enrollment(
        self, user: MethodUser, role: Role, form: Mapping[str, str], *, transaction: str = ""
    ) -> EnrollmentResult:
        """Check the answer (``form[info.answer_field]``) and save the credential. Raises
        ``WrongCode`` (``KeyRefused`` for a ceremony), ``TooManyTries``, ``CodeExpired``,
        ``CeremonyCancelled``, ``EnrollmentExpired``, policy errors. Completing the pair
        opens the re-enrollment gate of a reset (C3)."""
        gated = self._gate.is_closed(user.id)
        result = self._enroll.complete(user, role, form, transaction)
        if gated and self.is_enrolled(user.id):
            if not result.recovery_codes:
                # The codes kept through a recovery sign-in (C3) give way to a new set.
                codes = self._core.recovery.generate(user.id).codes
                self._core.audit.emit("recovery.generated", user_id=user.id, count=len(codes))
                result = replace(result, recovery_codes=codes)
            self._gate.open(user.id)
        return result

    # -- several keys per credential (security keys) ------------------------------------------

    def _several(self, user_id: str, role: Role) -> tuple[StoredCredential, Method[Any]]:
        stored, method = self._active(user_id, role)
        if not method.info.several_keys:
            raise NotEnrolled(role=role)
        return stored, method

    def begin_add_key(
        self, user: MethodUser, role: Role, form: Mapping[str, str], *, transaction: str
    ) -> ChallengeSent:
        """Start registering one more key (named by ``form["key_name"]``) for the
        several-keys method in ``role``; the options are in ``ceremony``. Whether the
        change needs a fresh second factor (C2) is the caller's decision."""
        core = self._core
        fields: dict[str, Any] = {"role": role}
        with core.audit_failure("method.key.add.failed", user.id, fields):
            stored, method = self._several(user.id, role)
            fields.update(method=stored.method, credential_id=stored.id)
            name = key_name(form, f"{method.label(user.locale)} {len(stored.keys) + 1}")
            core.attempts.check(user.id, stored.id)
            credential = core.credentials.open_credential(user.id, stored)
            challenge = core.send(user, method, credential, purpose="add-key",
                                  transaction=transaction, name=name)
        return ChallengeSent(role, stored.method, None, None,
                             core.clock() + core.lifetimes.code_s, ceremony=challenge.data)

    def complete_add_key(
        self, user: MethodUser, role: Role, form: Mapping[str, str], *, transaction: str
    ) -> CredentialView:
        """Check the registration and add the key. Two completions of one registration
        make one key: the challenge answers once, and the write refuses a key id the
        credential already holds (compare-and-set)."""
        core = self._core
        fields: dict[str, Any] = {"role": role}
        with core.audit_failure("method.key.add.failed", user.id, fields):
            stored, method, credential = self._opened(user.id, role, fields, several=True)
            challenge = core.load_challenge(user.id, method, stored.id,
                                            transaction=transaction, purpose="add-key")
        verified = core.check(user, method, credential, challenge, form,
                              event="method.key.add.verify", fields=fields)
        assert verified.new_key is not None
        key = replace(verified.new_key, name=challenge.sent_to or verified.new_key.name,
                      created_at=core.clock(), counter=int(verified.sign_count or 0))

        def change(current: Credentials) -> tuple[Credentials, StoredCredential]:
            now = current.get(role)
            if now is None or now.id != stored.id:
                raise NotEnrolled(role=role)
            if any(k.id == key.id for k in now.keys):
                raise KeyRefused(tries_left=0)
            current[role] = replace(now, keys=(*now.keys, key))
            return current, current[role]

        with core.audit_failure("method.key.add.failed", user.id,
                                {"reason": "key_exists", **fields}):
            updated = core.credentials.update(user.id, change)
        core.audit.emit("method.key.added", user_id=user.id, key_id=key.id,
                        attested=key.attested, backup_eligible=key.backup_eligible, **fields)
        core.announce(MethodChange(user.id, "key_added", role))
        return core.view(user.id, updated, user.locale)

    def remove_key(self, user: MethodUser, role: Role, key_id: str) -> None:
        """Remove one key. Removing the last key removes the method, so it follows
        :meth:`remove` (C2: refused with ``TooFewMethods`` when both roles are set)."""
        core = self._core

        def change(current: Credentials) -> tuple[Credentials, StoredCredential]:
            stored = current.get(role)
            if stored is None:
                raise NotEnrolled(role=role)
            keys = tuple(k for k in stored.keys if k.id != key_id)
            if len(keys) == len(stored.keys):
                raise KeyNotFound()
            if not keys:
                if all(r in current for r in ROLES):
                    raise TooFewMethods()
                return {r: c for r, c in current.items() if r != role}, stored
            current[role] = replace(stored, keys=keys)
            return current, current[role]

        with core.audit_failure("method.key.remove.failed", user.id, {"role": role}):
            left = core.credentials.update(user.id, change)
        core.audit.emit("method.key.removed", user_id=user.id, role=role, key_id=key_id,
                        credential_id=left.id)
        core.announce(MethodChange(user.id, "key_removed", role))

    def cancel_enrollment(self, user: MethodUser, role: Role) -> None:
        self._enroll.cancel(user, role)

    # -- sign-in (S3, S5) ------------------------------------------------------------------------

    def _active(self, user_id: str, role: Role) -> tuple[StoredCredential, Method[Any]]:
        stored = self._core.credentials.load(user_id).get(role)
        if stored is None:
            raise NotEnrolled(role=role)
        return stored, self._core.method(stored.method)

    def _opened(self, user_id: str, role: Role, fields: dict[str, Any], *, several: bool = False
                ) -> tuple[StoredCredential, Method[Any], Credential]:
        """The ``role`` credential (of a several-keys method if ``several``), its method and
        its opened secrets; notes the method and credential in the audit ``fields``."""
        stored, method = self._several(user_id, role) if several else self._active(user_id, role)
        fields.update(method=stored.method, credential_id=stored.id)
        return stored, method, self._core.credentials.open_credential(user_id, stored)

    def send_challenge(
        self, user: MethodUser, role: Role, *, transaction: str = ""
    ) -> ChallengeSent:
        """Challenge the person's ``role`` method: SMS and voice send a code, an app sends
        nothing. Raises ``NotEnrolled``, ``MethodNotEnabled``, ``MethodDisabled``,
        ``TooManyTries``, ``ResendTooSoon`` (``retry_after_s``), ``BudgetExhausted``,
        ``DeliveryFailed``."""
        core = self._core
        fields: dict[str, Any] = {"role": role}
        with core.audit_failure("method.challenge.failed", user.id, fields):
            stored, method, credential = self._opened(user.id, role, fields)
            if is_ceremony(method):
                # A ceremony costs nothing to start and sends nothing: no resend limits; the
                # tries are checked when it is answered.
                core.attempts.check(user.id, stored.id)
                challenge, resend_at = core.send(
                    user, method, credential, transaction=transaction
                ), None
            else:
                challenge, resend_at = core.issue_challenge(
                    user, method, credential, cooldown_subject=stored.id,
                    phone_key=stored.phone_key, country_code=stored.country_code,
                )
        core.audit.emit("method.challenge.sent", user_id=user.id, sent_to=challenge.sent_to,
                        purpose="sign-in", **fields)
        timed = method.info.delivers_code or is_ceremony(method)
        expires = core.clock() + core.lifetimes.code_s if timed else None
        return ChallengeSent(role, stored.method, challenge.sent_to, resend_at, expires,
                             ceremony=dict(challenge.data) if is_ceremony(method) else None)

    def verify(
        self, user: MethodUser, role: Role, form: Mapping[str, str], *, transaction: str = ""
    ) -> VerifyResult:
        """Check ``form["code"]`` for the ``role`` method. Returns the ``amr`` on success;
        raises ``WrongCode`` (``tries_left``), ``TooManyTries``, ``CodeExpired``,
        ``MethodDisabled``, ``NotEnrolled``. Every accepted code is accepted once."""
        core = self._core
        fields: dict[str, Any] = {"role": role}
        with core.audit_failure("method.verify.failed", user.id, fields):
            stored, method, credential = self._opened(user.id, role, fields)
            challenge = core.load_challenge(user.id, method, stored.id,
                                            transaction=transaction)
        code_amr = {} if is_ceremony(method) else {"amr": list(method.info.amr)}
        verified = core.check(user, method, credential, challenge, form,
                              event="method.verify", fields={**fields, **code_amr},
                              scope=transaction)
        amr = core.amr_for(method, credential, verified)
        if is_ceremony(method):
            core.record_use(user.id, credential, verified)
            core.audit.emit("method.key.used", user_id=user.id, key_id=verified.key_id,
                            amr=list(amr), **fields)
        core.store.delete(core.challenge_key(user.id, stored.id))
        return VerifyResult(user.id, role, stored.method, stored.id, amr)

    # -- changes (C1, C2, C3) ----------------------------------------------------------------------

    def remove(self, user: MethodUser, role: Role, *, forced_by: str | None = None) -> None:
        """Remove the ``role`` method. Refused with ``TooFewMethods`` when both roles are
        set (C2: never fewer than two; replace it instead); allowed while enrollment is
        incomplete (starting over). ``forced_by`` names an operator who removes it anyway
        (the person then signs in with the other method and sets up the missing one)."""
        core = self._core

        def change(current: Credentials) -> tuple[Credentials, StoredCredential]:
            if role not in current:
                raise NotEnrolled(role=role)
            if all(r in current for r in ROLES) and forced_by is None:
                raise TooFewMethods()
            return {r: c for r, c in current.items() if r != role}, current[role]

        with core.audit_failure("method.remove.failed", user.id, {"role": role}):
            removed = core.credentials.update(user.id, change)
        self._enroll.forget(user.id, removed)
        core.audit.emit("method.removed", user_id=user.id, role=role, method=removed.method,
                        credential_id=removed.id, **({} if forced_by is None else
                                                     {"actor": forced_by, "forced": True}))
        core.announce(MethodChange(user.id, "removed", role))

    def swap_roles(self, user: MethodUser) -> None:
        """Make the backup the primary and the primary the backup (C1), if the operator's
        role lists allow the swapped pair."""
        core = self._core

        def change(current: Credentials) -> tuple[Credentials, None]:
            if not all(r in current for r in ROLES):
                raise NotEnrolled()
            new_primary = current["backup"].with_role("primary")
            new_backup = current["primary"].with_role("backup")
            first, second = core.choice(new_primary), core.choice(new_backup)
            assert first is not None
            assert second is not None
            core.policy.check_pair(first, second)
            return {"primary": new_primary, "backup": new_backup}, None

        with core.audit_failure("method.swap.failed", user.id, {}):
            core.credentials.update(user.id, change)
        core.audit.emit("method.swapped", user_id=user.id)
        core.announce(MethodChange(user.id, "swapped"))

    def reset(self, user_id: str, *, actor: str, keep_recovery_codes: bool = False) -> int:
        """Reset (C3): clear every method and pending enrollment of the person, who must
        enroll at next sign-in, and close their re-enrollment gate (:mod:`idp.methods.gate`):
        set-up from nothing then needs a recovery code or an operator's enrollment code
        besides the password. An operator reset clears the recovery codes too; a recovery
        sign-in keeps the unused ones (``keep_recovery_codes``) until the new pair is
        verified. Audited with ``actor``. Returns how many methods were removed."""
        core = self._core
        self._gate.close(user_id, reason=actor)
        removed = core.credentials.update(user_id, lambda current: ({}, list(current.values())))
        for stored in removed:
            self._enroll.forget(user_id, stored)
        for role in ROLES:
            core.store.delete(f"{ENROLL_PREFIX}{user_id}:{role}")
        if not keep_recovery_codes:
            core.recovery.clear(user_id)
            core.attempts.reset(user_id, RECOVERY_SUBJECT)
        core.audit.emit("method.reset", user_id=user_id, actor=actor, count=len(removed))
        core.announce(MethodChange(user_id, "reset"))
        return len(removed)

    # -- the re-enrollment gate (C3) ----------------------------------------------------------

    def issue_enrollment_code(self, user_id: str, *, actor: str) -> str:
        """A one-time enrollment code for a person whose methods were reset: shown once to
        the operator, who hands it over. Voids any earlier one. Audited (never the code)."""
        code = self._gate.issue_code(user_id, self._core.lifetimes.reenrollment_code_s)
        self._core.audit.emit("method.enrollment_code.issued", user_id=user_id, actor=actor)
        return code

    def reenrollment_gated(self, user_id: str) -> bool:
        """``True`` after a reset until a new pair is verified: set-up from nothing needs
        :meth:`pass_reenrollment_gate` besides the password."""
        return self._gate.is_closed(user_id)

    def pass_reenrollment_gate(self, user: MethodUser, submitted: str) -> str:
        """Check an enrollment code or a recovery code for set-up after a reset; returns
        which it was (``"enrollment_code"`` or ``"recovery_code"``). Wrong: ``WrongCode``,
        under the recovery-code try limits (``TooManyTries``)."""
        core = self._core
        with core.audit_failure("method.reenroll.failed", user.id, {}):
            tries_left = core.attempts.reserve(user.id, RECOVERY_SUBJECT)
        if self._gate.use_code(user.id, submitted):
            kind = "enrollment_code"
        elif core.recovery.use(user.id, submitted) is not None:
            kind = "recovery_code"
            core.announce(MethodChange(user.id, "recovery_codes"))
        else:
            core.attempts.failed(user.id, RECOVERY_SUBJECT)
            core.audit.emit("method.reenroll.failed", user_id=user.id,
                            error_code=WrongCode.code, tries_left=tries_left)
            raise WrongCode(tries_left=tries_left)
        core.attempts.succeeded(user.id, RECOVERY_SUBJECT)
        core.audit.emit("method.reenroll.granted", user_id=user.id, proof=kind)
        return kind

    # -- recovery codes (E7, C3) -------------------------------------------------------------------

    def recovery_codes_left(self, user_id: str) -> int:
        return self._core.recovery.remaining(user_id)

    def regenerate_recovery_codes(self, user: MethodUser) -> tuple[str, ...]:
        """A new set (show once); every old code stops working."""
        if not self.is_enrolled(user.id):
            raise NotEnrolled()
        codes = self._core.recovery.generate(user.id).codes
        self._core.audit.emit("recovery.generated", user_id=user.id, count=len(codes))
        self._core.announce(MethodChange(user.id, "recovery_codes"))
        return codes

    def use_recovery_code(self, user: MethodUser, submitted: str) -> int:
        """Sign in with a recovery code (C3): consumes it and returns how many are left.
        Raises ``WrongCode`` / ``TooManyTries`` like any code. The caller then sends the
        person to replace their methods."""
        core = self._core
        with core.audit_failure("recovery.failed", user.id, {}):
            tries_left = core.attempts.reserve(user.id, RECOVERY_SUBJECT)
        left = core.recovery.use(user.id, submitted)
        if left is None:
            core.attempts.failed(user.id, RECOVERY_SUBJECT)
            core.audit.emit("recovery.failed", user_id=user.id, error_code=WrongCode.code,
                            tries_left=tries_left)
            raise WrongCode(tries_left=tries_left)
        core.attempts.succeeded(user.id, RECOVERY_SUBJECT)
        core.audit.emit("recovery.used", user_id=user.id, remaining=left)
        core.announce(MethodChange(user.id, "recovery_codes"))
        return left

    # -- import (A2) -------------------------------------------------------------------------------

    def validate_import(
        self, method_id: str, role: Role, data: Mapping[str, str],
        user: MethodUser | None = None,
    ) -> PreparedImport:
        """Validate one import row without writing anything. Raises ``MethodNotEnabled``,
        ``RoleNotAllowed`` or ``EnrollmentInvalid`` (``detail`` names the column)."""
        return self._imports.prepare(method_id, role, data, user)

    def validate_import_pair(
        self, primary: PreparedImport | None, backup: PreparedImport | None
    ) -> None:
        """Check one person's two rows against each other (E3, E4), without writing."""
        self._imports.check_pair(primary, backup)

    def validate_import_set(self, rows: Sequence[ImportRow]) -> dict[Role, PreparedImport]:
        """Validate all of one person's rows ``(method_id, role, columns)`` — each row, one
        per role, the pair — without writing anything. Raises a ``MethodError`` whose
        ``detail`` names the row and the column."""
        return self._imports.prepare_set(rows)

    def import_credential(
        self, user: MethodUser, method_id: str, role: Role, data: Mapping[str, str]
    ) -> CredentialView:
        """Validate and store one imported credential in ``role`` (which must be empty),
        checking the policy against the other role. Audited as ``method.imported``."""
        return self._imports.store(user, [(method_id, role, data)])[0]

    def import_credentials(
        self, user: MethodUser, rows: Sequence[ImportRow]
    ) -> list[CredentialView]:
        """Validate and store all of one person's rows at once (all or none)."""
        return self._imports.store(user, rows)
