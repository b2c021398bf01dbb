"""The enrollment steps of the sign-in (BEHAVIOUR E1-E7, C3).

Right after the password, a person without two verified methods sets them up: for each role
(primary, then backup) choose a method, give its details (a phone number), and prove it with
a code it delivered (E2). The choices the policy refuses for the backup are shown with the
reason (E3-E5); the methods layer enforces the policy again at every write. When both roles
are verified, the recovery codes (E7) are sealed into the transaction, shown once, then
dropped with the transaction. A person who signed in with a recovery code (C3) comes here
with their old methods reset and sets up both anew.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from idp.login.core import Browser, JourneyCore
from idp.login.model import Outcome, Stage, Step, WrongStep
from idp.login.transactions import Held
from idp.methods import (
    AppBothRoles,
    EnrollmentExpired,
    Interaction,
    MethodError,
    MethodNotEnabled,
    MethodUser,
    RoleNotAllowed,
)
from idp.methods.service import CredentialView, MethodChoice, PendingEnrollment, Role
from idp.sessions import SsoSession

__all__ = ["CodesView", "EnrollView", "EnrollmentSteps", "Refused"]


@dataclass(frozen=True)
class Refused:
    """A method the person may not choose for this role now, and why (E3)."""

    id: str
    label: str
    error: MethodError


@dataclass(frozen=True)
class EnrollView:
    """What the enrollment pages show."""

    tx_id: str
    role: Role
    stage: Stage
    recovery: bool
    choices: tuple[MethodChoice, ...]
    refused: tuple[Refused, ...]
    method: MethodChoice | None
    pending: PendingEnrollment | None
    other: CredentialView | None  # the method already set up in the other role
    error: MethodError | None
    locale: str


@dataclass(frozen=True)
class CodesView:
    """The recovery codes, shown once (E7), and the form that ends the journey."""

    tx_id: str
    codes: tuple[str, ...]
    locale: str



def _other(role: Role) -> Role:
    return "backup" if role == "primary" else "primary"


class EnrollmentSteps(JourneyCore):
    """Enrollment, on top of :class:`JourneyCore`."""

    def answer_form(self, method_id: str | None, code: str, credential: str
                    ) -> dict[str, str]:
        """The form a method's ``verify`` reads: the typed code, or a ceremony's JSON (in
        the hidden field its ``answer_field`` names)."""
        method = None if method_id is None else self.services.methods.methods.get(method_id)
        if method is not None and method.info.interaction is Interaction.CEREMONY:
            return {method.info.answer_field: credential}
        return {"code": code[:64]}

    def _choice(self, mu: MethodUser, method_id: str) -> MethodChoice:
        method = self.services.methods.methods.get(method_id)
        if method is None:
            raise MethodNotEnabled(method=method_id)
        info = method.info
        return MethodChoice(method_id, method.label(mu.locale), info.channel,
                            info.delivers_code, info.enroll_fields)

    def _refusal(self, role: Role, method_id: str) -> MethodError:
        allowed = (self.services.settings.enrollment.primary if role == "primary"
                   else self.services.settings.enrollment.backup)
        if method_id not in allowed:
            return RoleNotAllowed(role=role, field="method")
        return AppBothRoles(field="method")

    def enroll_view(self, token: str | None, browser: Browser) -> EnrollView:
        """The enrollment page for the transaction's role and stage. A pending enrollment
        that expired sends the person back to choosing, with the reason."""
        held = self.held(token, Step.ENROLL)
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        methods = self.services.methods
        tx = held.tx
        role = tx.enroll_role
        error: MethodError | None = None
        pending = None
        if tx.stage is Stage.VERIFY:
            pending = methods.pending_enrollment(mu, role, transaction=tx.id)
            if pending is None:
                held = self.save(held, stage=Stage.CHOOSE, enroll_method=None)
                error = EnrollmentExpired()
        choices = tuple(methods.available(mu, role))
        offered = {choice.id for choice in choices}
        refused = tuple(
            Refused(method_id, method.label(mu.locale), self._refusal(role, method_id))
            for method_id, method in methods.methods.items() if method_id not in offered
        )
        chosen = held.tx.enroll_method
        return EnrollView(
            tx_id=tx.id, role=role, stage=held.tx.stage, recovery=tx.recovery,
            choices=choices, refused=refused,
            method=None if chosen is None else self._choice(mu, chosen), pending=pending,
            other=methods.credentials(mu).get(_other(role)), error=error, locale=mu.locale,
        )

    def _enrolling(self, token: str | None, form_id: str, stages: tuple[Stage, ...]
                   ) -> Held:
        held = self.held(token, Step.ENROLL, form_id)
        if held.tx.stage not in stages:
            raise WrongStep(Step.ENROLL)
        return held

    def choose_method(self, token: str | None, form_id: str, method_id: str, *,
                      browser: Browser) -> Outcome:
        """The person picked a method for the role. One that needs details (a number) asks
        for them next; one that needs none (the app) starts at once (E6: QR code)."""
        held = self._enrolling(token, form_id, (Stage.CHOOSE,))
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        role = held.tx.enroll_role
        if method_id not in {c.id for c in self.services.methods.available(mu, role)}:
            if method_id not in self.services.methods.methods:
                raise MethodNotEnabled(method=method_id)
            raise self._refusal(role, method_id)
        choice = self._choice(mu, method_id)
        if choice.enroll_fields:
            self.save(held, stage=Stage.DETAILS, enroll_method=method_id)
            return Outcome(Step.ENROLL)
        self.services.methods.begin_enrollment(mu, role, method_id, {},
                                               transaction=held.tx.id)
        self.save(held, stage=Stage.VERIFY, enroll_method=method_id)
        return Outcome(Step.ENROLL)

    def submit_details(self, token: str | None, form_id: str, form: Mapping[str, str], *,
                       browser: Browser, method_id: str | None = None) -> Outcome:
        """The details (a phone number) for the chosen method, or for ``method_id`` when the
        person took the page's suggestion (E5: a number that can't receive SMS -> a voice
        call to it). The method validates and sends the first code; its errors propagate."""
        held = self._enrolling(token, form_id, (Stage.DETAILS,))
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        role = held.tx.enroll_role
        chosen = method_id or held.tx.enroll_method
        if chosen is None:
            raise WrongStep(Step.ENROLL)
        if method_id is not None and method_id not in {
            c.id for c in self.services.methods.available(mu, role)
        }:
            raise self._refusal(role, method_id)
        choice = self._choice(mu, chosen)
        details = {name: str(form.get(name, ""))[:256] for name in choice.enroll_fields}
        self.services.methods.begin_enrollment(mu, role, chosen, details,
                                               transaction=held.tx.id)
        self.save(held, stage=Stage.VERIFY, enroll_method=chosen)
        return Outcome(Step.ENROLL)

    def enroll_resend(self, token: str | None, form_id: str, browser: Browser
                      ) -> PendingEnrollment:
        held = self._enrolling(token, form_id, (Stage.VERIFY,))
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        return self.services.methods.resend_enrollment_code(mu, held.tx.enroll_role,
                                                            transaction=held.tx.id)

    def enroll_back(self, token: str | None, form_id: str, browser: Browser) -> Outcome:
        """Choose another method for this role: the pending enrollment is dropped."""
        held = self._enrolling(token, form_id, (Stage.DETAILS, Stage.VERIFY))
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        self.services.methods.cancel_enrollment(mu, held.tx.enroll_role)
        self.save(held, stage=Stage.CHOOSE, enroll_method=None)
        return Outcome(Step.ENROLL)

    def verify_enrollment(self, token: str | None, form_id: str, code: str, *,
                          browser: Browser, credential: str = "") -> Outcome:
        """The code the new method delivered, or a new security key's registration (E2).
        Saved, the method's role is done: the other role next, or, with both verified, the
        recovery codes (E7)."""
        held = self._enrolling(token, form_id, (Stage.VERIFY,))
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        methods = self.services.methods
        role = held.tx.enroll_role
        form = self.answer_form(held.tx.enroll_method, code, credential)
        result = methods.complete_enrollment(mu, role, form, transaction=held.tx.id)
        # Saving a method bumped the person's security epoch (C4): follow it, ours it is.
        fresh = self.services.accounts.get(user.id)
        if fresh is None or not fresh.active:
            raise self._refuse(held, "person_changed")
        amr = (*held.tx.verified_amr, *result.amr)
        if methods.is_enrolled(user.id):
            self.save(
                held, epoch=fresh.security_epoch, verified_amr=amr,
                second_factor_at=self.clock(), method=result.credential.method,
                step=Step.RECOVERY_CODES, enroll_method=None, stage=Stage.CHOOSE,
                sealed_codes=self.seal_codes(held, result.recovery_codes),
            )
            return Outcome(Step.RECOVERY_CODES)
        self.save(held, epoch=fresh.security_epoch, verified_amr=amr,
                  enroll_role=_other(role), stage=Stage.CHOOSE, enroll_method=None)
        return Outcome(Step.ENROLL)

    # -- recovery codes (E7) and the end of enrollment -------------------------------------

    def codes_view(self, token: str | None, browser: Browser) -> CodesView:
        held = self.held(token, Step.RECOVERY_CODES)
        user = self.person(held)
        locale = browser.locale(held.tx.ui_locales, user.locale)
        return CodesView(held.tx.id, self.open_codes(held), locale)

    def download_codes(self, token: str | None, form_id: str) -> tuple[str, ...]:
        """The codes as a file, only while this transaction holds them."""
        held = self.held(token, Step.RECOVERY_CODES, form_id)
        self.person(held)
        codes = self.open_codes(held)
        if not codes:
            raise WrongStep(Step.RECOVERY_CODES)
        return codes

    def finish_enrollment(self, token: str | None, form_id: str, *, browser: Browser,
                          session: SsoSession | None, trust: bool = False) -> Outcome:
        """The person saw the codes and continues; "don't require codes on this browser"
        may be ticked here (T1: codes were entered in this sign-in)."""
        held = self.held(token, Step.RECOVERY_CODES, form_id)
        user = self.person(held)
        return self.finish(held, user, browser, session, trust=trust)
