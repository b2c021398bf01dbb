"""The sign-in state machine (BEHAVIOUR S1-S5, E1, C3, T1, T2, T4, T5), framework-free.

    start ──> password ──> [enroll: primary, backup ──> recovery codes] ──> done
                   │                                    ^
                   ├──> code (primary; "Didn't receive the code?" -> backup) ──┘ ──> done
                   │        └──> recovery code ──> enroll both anew (C3)
                   └──> trusted browser, no fresh factor demanded ──> done

Every operation takes the browser's transaction cookie value (``token``), reads the
transaction from the Store, checks it is at the operation's step, does the work through the
services, and saves the transaction by compare-and-set: any replica can serve any step, and
no step can be skipped, replayed or taken from another transaction. Pages and tests drive it
alike; the web layer (:mod:`idp.login.web`) only turns its results into pages and redirects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from idp.devices import IssuedCookie
from idp.login.core import Browser
from idp.login.enrolling import EnrollmentSteps
from idp.login.model import (
    InvalidCredentials,
    LoginRequirements,
    Outcome,
    SlowDown,
    Stage,
    Step,
    TemporarilyLocked,
    WrongStep,
)
from idp.login.transactions import Held
from idp.methods import Interaction, MethodError, ResendTooSoon
from idp.methods.service import ChallengeSent, CredentialView, Role
from idp.sessions import SsoSession
from idp.users import User, method_user

__all__ = ["CodeView", "LoginMachine", "RecoveryView", "Started"]


@dataclass(frozen=True)
class Started:
    """A journey began: ``token`` for the browser's cookie and the first step. ``token`` is
    ``None`` when the browser's session already satisfies the request (go to the resume
    target at once)."""

    token: str | None
    step: Step


@dataclass(frozen=True)
class CodeView:
    """What the code page shows (S3)."""

    tx_id: str
    role: Role
    credential: CredentialView
    other: CredentialView | None  # the method "Didn't receive the code?" switches to
    delivers_code: bool  # SMS, voice: "send again" applies; the app: nothing is sent
    sent_to: str | None
    resend_at: float | None
    recovery_allowed: bool
    error: MethodError | None
    locale: str
    # A code went to this method moments ago (a sign-in just before, or switching back and
    # forth): none is sent now; the page says when "send again" works. Not an error.
    recently_sent: bool = False
    # A browser ceremony (a security key): its options for the page's JSON data island.
    ceremony: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RecoveryView:
    tx_id: str
    locale: str
    # After a reset (C3): no method is left; a recovery code or the operator's enrollment
    # code lets the person set up new ones (there is no code page to go back to).
    reenroll: bool = False



class LoginMachine(EnrollmentSteps):
    """The journey. One instance per process (it holds no per-person state)."""

    # -- starting ---------------------------------------------------------------------------

    def start(self, requirements: LoginRequirements, session: SsoSession | None, *,
              old_token: str | None = None) -> Started:
        """Begin a journey for ``requirements``; replaces the browser's previous transaction.
        With a live session and only a fresh code asked for (T5, C2), the password step is
        skipped (step-up); with a live session and nothing asked for, nothing is needed."""
        self.transactions.discard(old_token)
        services = self.services
        if session is not None and not requirements.force_password:
            if not requirements.force_code:
                return Started(None, Step.DONE)
            user = services.accounts.get(session.user_id)
            if user is not None and user.active and services.methods.is_enrolled(user.id):
                token, _ = self.transactions.create(
                    requirements, step=Step.CODE, user_id=user.id, epoch=session.epoch,
                    auth_time=session.auth_time, session_sid=session.sid,
                    role=self._first_role(user),
                )
                services.audit.emit("login.started", user_id=user.id, step_up=True,
                                    client_id=requirements.client_id)
                return Started(token, Step.CODE)
        token, _ = self.transactions.create(requirements)
        services.audit.emit("login.started", step_up=False, client_id=requirements.client_id)
        return Started(token, Step.PASSWORD)

    def password_view(self, token: str | None) -> Held:
        return self.held(token, Step.PASSWORD)

    # -- the password (S1, S4) -----------------------------------------------------------------

    def submit_password(self, token: str | None, form_id: str, email: str, password: str, *,
                        browser: Browser, session: SsoSession | None) -> Outcome:
        """Check the credentials under the limits. Every failure says the same thing,
        whether the account exists or not, and costs the same time (S4)."""
        held = self.held(token, Step.PASSWORD, form_id)
        services = self.services
        subject = self.limits.subject(email)
        refusal = self.limits.check(subject, browser.ip)
        if refusal is not None:
            # The account's user id is never looked up here: a refusal reads the same
            # whether or not the account exists.
            services.audit.emit("login.throttled", kind=refusal.kind, ip=browser.ip,
                                retry_after_s=refusal.retry_after_s)
            if refusal.kind in ("delay", "ip"):
                raise SlowDown(refusal.retry_after_s or 1)
            raise TemporarilyLocked()
        user = services.accounts.find_by_email(email)
        if user is None:
            services.accounts.passwords.verify_dummy(password)
            ok, reason = False, "unknown_account"
        else:
            ok = services.accounts.check_password(user, password)
            reason = "wrong_password"
            if ok and not user.active:
                ok, reason = False, "disabled"
        if not ok:
            self._password_failed(subject, user, reason, browser)
        assert user is not None
        self.limits.succeeded(subject, browser.ip)
        services.audit.emit("login.password.succeeded", user_id=user.id, ip=browser.ip,
                            client_id=held.tx.client_id)
        held = self.save(held, user_id=user.id, epoch=user.security_epoch,
                         auth_time=self.clock())
        return self._after_password(held, user, browser, session)

    def _password_failed(self, subject: str, user: User | None, reason: str,
                         browser: Browser) -> NoReturn:
        audit = self.services.audit
        user_id = None if user is None else user.id
        if reason == "disabled":
            # The right password of a disabled account: not a guess, not counted.
            audit.emit("login.password.failed", user_id=user_id, reason=reason, ip=browser.ip)
            raise InvalidCredentials()
        failures, brought = self.limits.failed(subject, browser.ip)
        audit.emit("login.password.failed", user_id=user_id, reason=reason, ip=browser.ip,
                   failures=failures)
        if brought is not None and brought.kind in ("locked", "stopped"):
            audit.emit("login.locked", user_id=user_id, kind=brought.kind,
                       lock_s=brought.retry_after_s, failures=failures)
            raise TemporarilyLocked()
        raise InvalidCredentials()

    def _first_role(self, user: User) -> Role:
        """S3: the primary, unless it is disabled (too many wrong codes) and the backup
        isn't; a person with one method only (enrollment unfinished) uses that one."""
        views = self.services.methods.credentials(method_user(user))
        primary, backup = views.get("primary"), views.get("backup")
        if primary is None and backup is not None:
            return "backup"
        if primary is not None and primary.disabled and backup is not None and not (
            backup.disabled
        ):
            return "backup"
        return "primary"

    def _after_password(self, held: Held, user: User, browser: Browser,
                        session: SsoSession | None) -> Outcome:
        """E1: set up what is missing; T1/T5: a trusted browser skips the code unless a
        fresh one is demanded; otherwise S3: the code step."""
        services = self.services
        views = services.methods.credentials(method_user(user))
        if not views and services.methods.reenrollment_gated(user.id):
            # C3: after a reset the password alone never sets up methods.
            self.save(held, step=Step.REENROLL)
            return Outcome(Step.REENROLL)
        if not views:
            self.save(held, step=Step.ENROLL, enroll_role="primary", stage=Stage.CHOOSE)
            return Outcome(Step.ENROLL)
        cookies: tuple[IssuedCookie, ...] = ()
        if len(views) == 2:
            found = services.devices.find_cookie(user.id, browser.cookies)
            result = services.devices.check(
                user, found, fresh_2sv_required=held.tx.force_code, ip=browser.ip,
                user_agent=browser.user_agent,
            )
            if result.reason.audited:
                # Tampered, forged, expired, another person's, revoked: ignored (T4), and
                # removed so it is not presented (and audited) at every sign-in.
                cookies = tuple(services.devices.clear_cookies(user.id))
            if result.trusted:
                services.audit.emit("login.trusted_browser", user_id=user.id,
                                    device_id=result.device_id)
                held = self.save(held, trusted=True, step=Step.DONE)
                return self.finish(held, user, browser, session, cookies=cookies)
        self.save(held, step=Step.CODE, role=self._first_role(user), sent_role=None)
        return Outcome(Step.CODE, cookies=cookies)

    # -- the code (S3, S5, T1) ----------------------------------------------------------------

    def code_view(self, token: str | None, browser: Browser, use: str | None = None
                  ) -> CodeView:
        """The code page. The first view of a role challenges it (SMS and voice send a code,
        the app is simply opened); a reload does not send again. ``use`` switches to the
        other role ("Didn't receive the code?")."""
        held = self.held(token, Step.CODE)
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        methods = self.services.methods
        views = methods.credentials(mu)
        if use in views and use != held.tx.role:
            held = self.save(held, role=use)
        role = held.tx.role
        if role not in views:
            raise WrongStep(Step.PASSWORD)  # cannot happen: credentials can't vanish unseen
        error: MethodError | None = None
        recently_sent = False
        ceremony: Mapping[str, Any] | None = None
        if self._is_ceremony(views[role].method):
            # Every view gets its own ceremony (a challenge answers once, and a refused or
            # cancelled one is gone): nothing is sent, so nothing to throttle.
            try:
                ceremony = methods.send_challenge(mu, role, transaction=held.tx.id).ceremony
            except MethodError as exc:
                error = exc
        elif held.tx.sent_role != role:
            try:
                sent = methods.send_challenge(mu, role)
            except ResendTooSoon as exc:
                # A code went to this method moments ago: it may still be valid (switching
                # back and forth) or already used (a sign-in a moment before). The cooldown
                # stands (SMS pumping); the page says when a new code can be asked for.
                held = self.save(held, sent_role=role,
                                 resend_at=self.clock() + exc.retry_after_s)
                recently_sent = True
            except MethodError as exc:
                error = exc
            else:
                held = self._sent(held, sent)
        other: CredentialView | None = views.get("backup" if role == "primary" else "primary")
        return CodeView(
            tx_id=held.tx.id, role=role, credential=views[role], other=other,
            delivers_code=self._delivers(views[role].method),
            sent_to=held.tx.sent_to if held.tx.sent_role == role else None,
            resend_at=held.tx.resend_at, recovery_allowed=held.tx.session_sid is None,
            error=error, locale=mu.locale, recently_sent=recently_sent, ceremony=ceremony,
        )

    def _delivers(self, method_id: str) -> bool:
        method = self.services.methods.methods.get(method_id)
        return method is not None and method.info.delivers_code

    def _is_ceremony(self, method_id: str) -> bool:
        method = self.services.methods.methods.get(method_id)
        return method is not None and method.info.interaction is Interaction.CEREMONY

    def _sent(self, held: Held, sent: ChallengeSent) -> Held:
        return self.save(held, sent_role=sent.role, sent_to=sent.sent_to,
                         resend_at=sent.resend_at)

    def resend(self, token: str | None, form_id: str, *, browser: Browser) -> None:
        """Send again (the cooldown and budgets of the methods layer apply)."""
        held = self.held(token, Step.CODE, form_id)
        user = self.person(held)
        sent = self.services.methods.send_challenge(
            self.method_user(user, browser, held), held.tx.role
        )
        self._sent(held, sent)

    def submit_code(self, token: str | None, form_id: str, code: str, *,
                    browser: Browser, session: SsoSession | None, trust: bool = False,
                    credential: str = "") -> Outcome:
        """Check the code (or, for a security key, the ceremony's ``credential`` JSON) of
        the challenged role. Right: done (trusting this browser if the box was ticked, T1),
        or the rest of enrollment for a person with one method only."""
        held = self.held(token, Step.CODE, form_id)
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        methods = self.services.methods
        role = held.tx.role
        current = methods.credentials(mu).get(role)
        form = self.answer_form(None if current is None else current.method, code, credential)
        result = methods.verify(mu, role, form, transaction=held.tx.id)
        amr = (*held.tx.verified_amr, *result.amr)
        now = self.clock()
        if not methods.is_enrolled(user.id):
            missing = "backup" if result.role == "primary" else "primary"
            self.save(held, step=Step.ENROLL, enroll_role=missing, stage=Stage.CHOOSE,
                      verified_amr=amr, second_factor_at=now, method=result.method)
            return Outcome(Step.ENROLL)
        held = self.save(held, verified_amr=amr, second_factor_at=now, method=result.method,
                         step=Step.DONE)
        return self.finish(held, user, browser, session, trust=trust)

    # -- recovery (C3) ------------------------------------------------------------------------

    def recovery_view(self, token: str | None, browser: Browser) -> RecoveryView:
        held = self._recovery_held(token)
        user = self.person(held)
        if held.tx.session_sid is not None:
            raise WrongStep(Step.CODE)
        return RecoveryView(held.tx.id, browser.locale(held.tx.ui_locales, user.locale),
                            reenroll=held.tx.step is Step.REENROLL)

    def _recovery_held(self, token: str | None, form_id: str | None = None) -> Held:
        """The code step (a recovery code instead of the devices) or, after a reset, the
        re-enrollment step."""
        loaded = self.transactions.load(token)
        step = Step.REENROLL if loaded is not None and loaded.tx.step is Step.REENROLL \
            else Step.CODE
        return self.held(token, step, form_id)

    def submit_recovery(self, token: str | None, form_id: str, code: str, *,
                        browser: Browser) -> Outcome:
        """A right recovery code signs the person in once: their methods are reset and
        they set up two new ones, with new recovery codes, before the journey can end. The
        unused recovery codes stay valid until the new pair is verified, so someone who
        leaves half-way is asked for one again, never for the password alone (C3). After a
        reset (the re-enrollment step), a recovery code or the operator's enrollment code
        lets this sign-in set up new methods."""
        held = self._recovery_held(token, form_id)
        if held.tx.session_sid is not None:
            # A step-up has no password of its own to stand on; sign in afresh instead.
            raise WrongStep(Step.CODE)
        user = self.person(held)
        mu = self.method_user(user, browser, held)
        services = self.services
        if held.tx.step is Step.REENROLL:
            proof = services.methods.pass_reenrollment_gate(mu, code[:64])
            services.audit.emit("login.reenroll.granted", user_id=user.id, proof=proof)
        else:
            left = services.methods.use_recovery_code(mu, code[:64])
            services.methods.reset(user.id, actor="recovery-sign-in", keep_recovery_codes=True)
            services.audit.emit("login.recovery.used", user_id=user.id, remaining=left)
        fresh = services.accounts.get(user.id)
        if fresh is None or not fresh.active:
            raise self._refuse(held, "person_changed")
        self.save(held, epoch=fresh.security_epoch, recovery=True, step=Step.ENROLL,
                  enroll_role="primary", stage=Stage.CHOOSE, enroll_method=None,
                  verified_amr=(), second_factor_at=None, method=None, sent_role=None)
        return Outcome(Step.ENROLL)
