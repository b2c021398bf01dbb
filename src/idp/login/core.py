"""What every step of the sign-in machine shares: reading the transaction and the person,
saving changes, and the one way a journey ends (:meth:`JourneyCore.finish`).

``finish`` is where the product's promise is enforced a last time, whatever the steps did
before: no session unless the password was checked (or a live session's stands, for a
step-up), the person is active, of the epoch the journey started with, fully enrolled (E1),
and passed a second factor in this transaction or a trusted browser stood in for it (T1) and
no fresh factor was demanded (T5). The transaction is deleted by compare-and-set before the
session is made, so it finishes once.

Framework-free (no Starlette): the web layer passes a :class:`Browser` of plain values.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from idp.crypto import DataKeys, DecryptionError
from idp.devices import IssuedCookie, TrustedBrowsers
from idp.login.limits import PasswordLimits, limits_secret
from idp.login.model import (
    ACR_2SV,
    ACR_TRUSTED_BROWSER,
    AMR_MFA,
    AMR_PASSWORD,
    Completion,
    Outcome,
    Step,
    TransactionExpired,
    WrongStep,
)
from idp.login.transactions import Held, Transactions
from idp.methods import MethodUser
from idp.methods.service import MethodService
from idp.observability import Audit, note_client
from idp.sessions import SsoSession, SsoSessions
from idp.settings import Settings
from idp.store import Store
from idp.users import Accounts, User, method_user
from idp.users.password_change import password_change_required

__all__ = ["Browser", "JourneyCore", "LoginServices"]

_CODES_AAD = "nidan.login.recovery-codes.v1"


class LoginServices(Protocol):
    """The services the journey uses (``idp.services.Services`` has them all)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def audit(self) -> Audit: ...
    @property
    def accounts(self) -> Accounts: ...
    @property
    def devices(self) -> TrustedBrowsers: ...
    @property
    def sessions(self) -> SsoSessions: ...
    @property
    def methods(self) -> MethodService: ...


@dataclass(frozen=True)
class Browser:
    """What the machine knows of the browser making this request.

    ``locale(ui_locales, user_locale)`` picks the language of this interaction (L1: the web
    layer negotiates with the language switch and Accept-Language too); texts and calls to
    the person's phone use it.
    """

    cookies: Mapping[str, str]
    ip: str | None
    user_agent: str | None
    locale: Callable[[str | None, str | None], str]


class JourneyCore:
    """Shared plumbing of :class:`idp.login.machine.LoginMachine`."""

    def __init__(self, services: LoginServices, *, clock: Callable[[], float] = time.time
                 ) -> None:
        settings = services.settings
        self.services = services
        self.clock = clock
        self.transactions = Transactions(
            services.store, lifetime_s=settings.lifetimes.login_transaction_s,
            secure=settings.server.secure, clock=clock,
        )
        self.limits = PasswordLimits(services.store, settings.limits, limits_secret(settings))
        self._keys = DataKeys.from_settings(settings.secrets)

    # -- reading --------------------------------------------------------------------------

    def held(self, token: str | None, step: Step, form_id: str | None = None) -> Held:
        """The browser's transaction, which must be at ``step``. A form's ``form_id`` must
        name this very transaction (a page of an older one can't move it)."""
        held = self.transactions.load(token)
        if held is None:
            raise TransactionExpired("missing")
        note_client(held.tx.client_id)  # for the funnel's client label
        if form_id is not None and not hmac.compare_digest(
            form_id.encode(), held.tx.id.encode()
        ):
            self.services.audit.emit("login.refused", user_id=held.tx.user_id,
                                     reason="other_transaction", step=step.value)
            raise WrongStep(held.tx.step)
        if held.tx.step is not step:
            raise WrongStep(held.tx.step)
        return held

    def person(self, held: Held) -> User:
        """The transaction's person, still active and of the same security epoch. A change
        elsewhere (operator reset, disabled account, new password) ends the journey."""
        tx = held.tx
        user = None if tx.user_id is None else self.services.accounts.get(tx.user_id)
        reason = None
        if user is None:
            reason = "user_missing"
        elif not user.active:
            reason = "user_disabled"
        elif user.security_epoch != tx.epoch:
            reason = "security_changed"
        if reason is not None or user is None:
            self.transactions.end(held)
            self.services.audit.emit("login.ended", user_id=tx.user_id, reason=reason,
                                     step=tx.step.value)
            raise TransactionExpired(reason or "user_missing")
        return user

    def method_user(self, user: User, browser: Browser, held: Held) -> MethodUser:
        """The person as methods see them, in this interaction's language (L1)."""
        return method_user(user, browser.locale(held.tx.ui_locales, user.locale))

    # -- writing --------------------------------------------------------------------------

    def save(self, held: Held, **changes: Any) -> Held:
        """Change the transaction; a concurrent change elsewhere sends the person to where
        the transaction now stands instead."""
        saved = self.transactions.save(held, **changes)
        if saved is None:
            raise WrongStep(held.tx.step)
        return saved

    def seal_codes(self, held: Held, codes: tuple[str, ...]) -> str | None:
        if not codes:
            return None
        return self._keys.encrypt(json.dumps(list(codes)).encode(), self._codes_aad(held))

    def open_codes(self, held: Held) -> tuple[str, ...]:
        if held.tx.sealed_codes is None:
            return ()
        try:
            plain = self._keys.decrypt(held.tx.sealed_codes, self._codes_aad(held))
        except DecryptionError:
            return ()
        return tuple(str(code) for code in json.loads(plain))

    @staticmethod
    def _codes_aad(held: Held) -> bytes:
        return f"{_CODES_AAD}:{held.tx.id}:{held.tx.user_id}".encode()

    # -- the end ------------------------------------------------------------------------------

    def _refuse(self, held: Held, reason: str) -> TransactionExpired:
        self.transactions.end(held)
        self.services.audit.emit("login.refused", user_id=held.tx.user_id, reason=reason,
                                 step=held.tx.step.value)
        return TransactionExpired(reason)

    def finish(
        self,
        held: Held,
        user: User,
        browser: Browser,
        session: SsoSession | None,
        *,
        trust: bool = False,
        cookies: tuple[IssuedCookie, ...] = (),
    ) -> Outcome:
        """End the journey with an SSO session, if and only if the promise holds."""
        services = self.services
        tx = held.tx
        if tx.user_id != user.id or not user.active or tx.epoch != user.security_epoch:
            raise self._refuse(held, "person_changed")
        if tx.auth_time is None:
            raise self._refuse(held, "no_password")
        if not services.methods.is_enrolled(user.id):
            raise self._refuse(held, "not_enrolled")
        coded = tx.second_factor_at is not None
        if not coded and not (tx.trusted and not tx.force_code):
            raise self._refuse(held, "no_second_factor")
        if tx.session_sid is not None and (
            session is None or session.sid != tx.session_sid or session.user_id != user.id
        ):
            raise self._refuse(held, "session_gone")
        if not self.transactions.end(held):
            # Finished (or moved) by another request of this browser: single use.
            raise TransactionExpired("finished")
        out = list(cookies)
        if trust and coded:
            # T1: only together with a code entered in this very sign-in.
            out.append(services.devices.trust(user, user_agent=browser.user_agent,
                                              ip=browser.ip))
        if coded:
            acr = ACR_2SV
            amr = (AMR_PASSWORD, *dict.fromkeys(tx.verified_amr), AMR_MFA)
        else:
            acr, amr = ACR_TRUSTED_BROWSER, (AMR_PASSWORD,)
        assert tx.auth_time is not None
        updated = None
        if session is not None and session.user_id == user.id:
            # None when the session ended meanwhile: then a new one is made below.
            updated = services.sessions.update(
                session, auth_time=tx.auth_time, amr=amr, acr=acr, epoch=user.security_epoch,
                second_factor_at=tx.second_factor_at or session.second_factor_at,
            )
        if updated is not None:
            completion = Completion(tx.resume, updated, None, acr, amr)
        else:
            if session is not None and session.user_id != user.id:
                services.sessions.end(session, reason="replaced")
            created, cookie = services.sessions.create(
                user_id=user.id, epoch=user.security_epoch, amr=amr, acr=acr,
                auth_time=tx.auth_time, second_factor_at=tx.second_factor_at,
                user_agent=browser.user_agent, address=browser.ip,
            )
            completion = Completion(tx.resume, created, cookie, acr, amr)
        services.audit.emit(
            "login.succeeded", user_id=user.id, acr=acr, amr=list(amr),
            method=tx.method if coded else None,
            trusted_browser=not coded, recovery=tx.recovery,
            step_up=tx.session_sid is not None, client_id=tx.client_id,
            sid=completion.session.sid, duration_s=round(self.clock() - tx.created_at, 3),
        )
        if password_change_required(services.store, user.id):
            # "This wasn't me" (idp.notices): the password page comes first.
            completion = replace(completion, resume="/account/password")
        return Outcome(Step.DONE, completion, tuple(out))
