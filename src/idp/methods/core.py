"""The pieces :class:`~idp.methods.service.MethodService` is built from, and its results.

:class:`MethodCore` holds the shared parts (store, methods, limits, policy, audit) and the
two routines every flow goes through: :meth:`MethodCore.issue_challenge` (resend limits,
then the plugin's ``send_challenge``) and :meth:`MethodCore.check` (reserve a try, the
plugin's ``verify``, single use). Enrollment completion and sign-in share them, so the
guarantees cannot differ between the two.
"""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from idp.methods.base import (
    Challenge,
    Channel,
    Credential,
    Interaction,
    Key,
    Method,
    MethodUser,
    Verified,
)
from idp.methods.codes import CodeService
from idp.methods.credentials import CredentialStore, Role, StoredCredential
from idp.methods.errors import (
    CeremonyCancelled,
    CodeExpired,
    KeyBlocked,
    KeyNameInvalid,
    KeyRefused,
    MethodDisabled,
    MethodError,
    MethodNotEnabled,
    WrongCode,
)
from idp.methods.limits import AttemptLimiter, SendGuard
from idp.methods.policy import Choice, EnrollmentPolicy
from idp.methods.recovery import RecoveryCodes
from idp.observability import Audit
from idp.settings import LifetimeSettings
from idp.store import Store, dump_record, load_record

__all__ = [
    "ChallengeSent",
    "CredentialView",
    "EnrollmentResult",
    "MethodChange",
    "MethodChoice",
    "MethodCore",
    "PendingEnrollment",
    "VerifyResult",
]

log = logging.getLogger("idp.methods")

CHALLENGE_PREFIX = "methods:challenge:"
CEREMONY_PREFIX = "methods:ceremony:"
USED_PREFIX = "methods:used:"
# The form field a several-keys method's enrollment and "add a key" forms name the key in.
KEY_NAME_FIELD = "key_name"
KEY_NAME_MAX = 40
# amr values a ceremony may never claim: it is not a one-time code, a text or a call.
CODE_AMR = frozenset({"otp", "sms", "tel"})


def is_ceremony(method: Method[Any]) -> bool:
    return method.info.interaction is Interaction.CEREMONY


def key_name(form: Mapping[str, str], default: str) -> str:
    """The key's name from ``form[KEY_NAME_FIELD]``, NFKC-normalised; ``default`` if
    empty; :class:`KeyNameInvalid` if too long or not printable."""
    raw = unicodedata.normalize("NFKC", form.get(KEY_NAME_FIELD, "")).strip()
    if not raw:
        return default
    if len(raw) > KEY_NAME_MAX or not raw.isprintable():
        raise KeyNameInvalid(field=KEY_NAME_FIELD)
    return raw


ChangeKind = Literal["enrolled", "replaced", "removed", "swapped", "reset", "imported",
                     "recovery_codes", "key_added", "key_removed"]


@dataclass(frozen=True)
class MethodChange:
    """Announced to ``MethodService.listeners`` after every committed change of a person's
    methods or recovery codes, so the accounts layer can bump the security epoch (C4)."""

    user_id: str
    kind: ChangeKind
    role: Role | None = None


@dataclass(frozen=True)
class MethodChoice:
    """A method a person may choose, for a chooser page."""

    id: str
    label: str
    channel: Channel
    delivers_code: bool
    enroll_fields: tuple[str, ...]


@dataclass(frozen=True)
class CredentialView:
    """A person's method as pages and the CLI show it: no secret, no full number."""

    id: str
    method: str
    role: Role
    label: str
    description: str
    channel: Channel | None  # None if the method is no longer enabled
    created_at: float
    disabled: bool
    source: str
    keys: tuple[Key, ...] = ()  # several-keys methods: each key, named (no secret in them)


@dataclass(frozen=True)
class ChallengeSent:
    """A challenge is out. ``resend_at`` (epoch seconds) is when "send again" may be used,
    for a visible cooldown; ``None`` for methods that send nothing."""

    role: Role
    method: str
    sent_to: str | None
    resend_at: float | None
    expires_at: float | None
    # CEREMONY methods: the options for the browser (the page's JSON data island).
    ceremony: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class VerifyResult:
    """A right code: the person passed this method. ``amr`` is the method's RFC 8176 list."""

    user_id: str
    role: Role
    method: str
    credential_id: str
    amr: tuple[str, ...]


@dataclass(frozen=True)
class PendingEnrollment:
    """An enrollment waiting for its code. ``display`` (QR code, secret for typing) is for
    the setup page only; ``repr`` hides it."""

    role: Role
    method: str
    credential_id: str
    display: Mapping[str, str] = field(repr=False)
    sent_to: str | None
    resend_at: float | None
    expires_at: float
    replacing: bool
    ceremony: Mapping[str, Any] | None = None  # CEREMONY methods: options for the browser


@dataclass(frozen=True)
class EnrollmentResult:
    """A credential was verified and saved. ``complete`` is ``True`` once both roles are
    set. ``recovery_codes`` is non-empty exactly once: when enrollment first completes
    (E7); show them once, they are stored only as hashes."""

    credential: CredentialView
    complete: bool
    recovery_codes: tuple[str, ...] = field(default=(), repr=False)
    amr: tuple[str, ...] = ()  # what proving the new method earned (as a sign-in would)


def json_safe(value: Any, what: str, method_id: str) -> Any:
    """``value`` if it survives a JSON round trip unchanged; else a clear plugin error."""
    try:
        if json.loads(json.dumps(value)) == value:
            return value
    except (TypeError, ValueError):
        pass
    raise TypeError(f"method {method_id!r} returned {what} that is not JSON-serialisable")


class MethodCore:
    """Shared state and the two guarded routines. Built by ``MethodService.from_settings``."""

    def __init__(
        self,
        *,
        store: Store,
        methods: Mapping[str, Method[Any]],
        credentials: CredentialStore,
        codes: CodeService,
        attempts: AttemptLimiter,
        sends: SendGuard,
        recovery: RecoveryCodes,
        policy: EnrollmentPolicy,
        lifetimes: LifetimeSettings,
        audit: Audit,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.methods = dict(methods)
        self.credentials = credentials
        self.codes = codes
        self.attempts = attempts
        self.sends = sends
        self.recovery = recovery
        self.policy = policy
        self.lifetimes = lifetimes
        self.audit = audit
        self.clock = clock
        self.listeners: list[Callable[[MethodChange], None]] = []

    @contextmanager
    def audit_failure(self, event: str, user_id: str, fields: Mapping[str, Any]
                      ) -> Iterator[None]:
        """A :class:`MethodError` leaving the block is audited as ``event`` with its code and
        ``fields`` as they are by then (the block may fill them in), and raised on."""
        try:
            yield
        except MethodError as exc:
            self.audit.emit(event, user_id=user_id, error_code=exc.code, **fields)
            raise

    # -- lookups -----------------------------------------------------------------------------

    def method(self, method_id: str) -> Method[Any]:
        found = self.methods.get(method_id)
        if found is None:
            raise MethodNotEnabled(method=method_id)
        return found

    def choice(self, stored: StoredCredential | None) -> Choice | None:
        if stored is None:
            return None
        method = self.methods.get(stored.method)
        channel = method.info.channel if method is not None else Channel.APP
        return Choice(stored.method, channel, stored.phone_key)

    def view(self, user_id: str, stored: StoredCredential, locale: str) -> CredentialView:
        method = self.methods.get(stored.method)
        if method is None:
            label = description = stored.method
        else:
            label = method.label(locale)
            public = Credential(public=stored.public, id=stored.id, method=stored.method,
                                keys=stored.keys)
            description = method.describe(public, locale)
        return CredentialView(
            id=stored.id,
            method=stored.method,
            role=stored.role,
            label=label,
            description=description,
            channel=None if method is None else method.info.channel,
            created_at=stored.created_at,
            disabled=self.attempts.is_disabled(user_id, stored.id),
            source=stored.source,
            keys=stored.keys,
        )

    # -- challenges --------------------------------------------------------------------------

    def issue_challenge(
        self,
        user: MethodUser,
        method: Method[Any],
        credential: Credential,
        *,
        cooldown_subject: str,
        phone_key: str | None,
        country_code: int | None,
    ) -> tuple[Challenge, float | None]:
        """:meth:`reserve_send`, then :meth:`send`."""
        resend_at = self.reserve_send(
            user.id, method, credential.id, cooldown_subject=cooldown_subject,
            phone_key=phone_key, country_code=country_code,
        )
        return self.send(user, method, credential), resend_at

    def reserve_send(
        self,
        user_id: str,
        method: Method[Any],
        credential_id: str,
        *,
        cooldown_subject: str,
        phone_key: str | None,
        country_code: int | None,
    ) -> float | None:
        """Apply the resend limits before anything is issued, so a refused resend leaves
        the code the person already has valid. Returns when the next send is allowed
        (``None`` for methods that send nothing)."""
        if not method.info.delivers_code:
            return None
        # Sending more codes cannot help once the tries of the window are used up.
        self.attempts.check(user_id, credential_id)
        return self.sends.reserve(
            user_id, cooldown_subject, phone_key=phone_key, country_code=country_code
        )

    def send(
        self, user: MethodUser, method: Method[Any], credential: Credential, *,
        purpose: str = "sign-in", transaction: str = "", name: str = "",
    ) -> Challenge:
        """Let the plugin issue and send (a CODE method) or prepare its ceremony (a
        CEREMONY method); store the challenge for ``verify``. A ceremony's challenge is
        bound to ``transaction`` (the login transaction, or the /account session), the
        person, the method and the credential, lives ``lifetimes.code_s`` at most, and is
        taken once by :meth:`load_challenge`. ``name`` is the name of the key a
        several-keys registration will add."""
        if is_ceremony(method):
            challenge = method.begin_ceremony(user, credential, purpose)
            key = self.ceremony_key(user.id, method.info.id, credential.id, transaction)
        else:
            challenge = method.send_challenge(user, credential)
            key = self.challenge_key(user.id, credential.id)
        record = {
            "data": json_safe(dict(challenge.data), "challenge data", method.info.id),
            "sent_to": challenge.sent_to,
            "issued_at": self.clock(),
            "purpose": purpose,
            "method": method.info.id,
            "name": name,
        }
        self.store.set(key, dump_record(record), ttl=self.lifetimes.code_s)
        return replace(challenge, purpose=purpose)

    @staticmethod
    def challenge_key(user_id: str, credential_id: str) -> str:
        return f"{CHALLENGE_PREFIX}{user_id}:{credential_id}"

    @staticmethod
    def ceremony_key(user_id: str, method_id: str, credential_id: str, transaction: str) -> str:
        return f"{CEREMONY_PREFIX}{user_id}:{method_id}:{credential_id}:{transaction}"

    def load_challenge(
        self, user_id: str, method: Method[Any], credential_id: str, *,
        transaction: str = "", purpose: str = "sign-in",
    ) -> Challenge:
        """The stored challenge; :class:`CodeExpired` if a delivered code was never sent or
        its challenge is gone. A ceremony's challenge is TAKEN here (the store's single-use
        take), before any check: success or failure, it answers once."""
        if is_ceremony(method):
            key = self.ceremony_key(user_id, method.info.id, credential_id, transaction)
            record = load_record(self.store.take(key))
            if (
                record is None
                or record.get("purpose") != purpose
                or record.get("method") != method.info.id
                or float(record.get("issued_at", 0)) + self.lifetimes.code_s < self.clock()
            ):
                raise CodeExpired()
            return Challenge(data=record.get("data") or {}, purpose=purpose,
                             sent_to=str(record.get("name") or "") or None)
        record = load_record(self.store.get(self.challenge_key(user_id, credential_id)))
        if record is None:
            if method.info.delivers_code:
                raise CodeExpired()
            return Challenge()
        return Challenge(data=record.get("data") or {}, sent_to=record.get("sent_to"))

    # -- checking a code -----------------------------------------------------------------------

    def check(
        self,
        user: MethodUser,
        method: Method[Any],
        credential: Credential,
        challenge: Challenge,
        form: Mapping[str, str],
        *,
        event: str,
        fields: Mapping[str, Any],
        scope: str = "",
    ) -> Verified:
        """Reserve a try, run the plugin's ``verify``, refuse a used ``use_id``. Audits the
        outcome as ``<event>.succeeded`` / ``<event>.failed``. Raises :class:`WrongCode`,
        :class:`TooManyTries`, :class:`MethodDisabled`, :class:`CodeExpired`, ..."""
        subject = credential.id
        if is_ceremony(method) and not form.get(method.info.answer_field, "").strip():
            # Cancelled, timed out, or no WebAuthn in this browser: nothing was checked, so
            # no try is spent. (The challenge was taken: the page starts a new ceremony.)
            self.audit.emit(f"{event}.cancelled", user_id=user.id, **fields)
            raise CeremonyCancelled()
        with self.audit_failure(f"{event}.failed", user.id, fields):
            tries_left = self.attempts.reserve(user.id, subject, scope=scope)
        try:
            verified = method.verify(user, credential, challenge, form)
        except MethodError as exc:
            self.audit.emit(f"{event}.failed", user_id=user.id, error_code=exc.code, **fields)
            raise
        except Exception as exc:
            # A plugin bug: its message could quote what was entered, so only the type goes.
            log.error("method %r failed in verify: %s", method.info.id, type(exc).__name__)
            self.audit.emit(
                f"{event}.failed", user_id=user.id, error_code="method_error",
                reason=type(exc).__name__, **fields,
            )
            raise MethodError(detail=f"method {method.info.id!r} failed") from None
        reason = None
        if verified is None:
            reason = "wrong"
        elif is_ceremony(method):
            try:
                reason = self._judge(user, method, credential, challenge, verified, fields)
            except MethodError as exc:
                self.attempts.failed(user.id, subject)
                self.audit.emit(f"{event}.failed", user_id=user.id, error_code=exc.code,
                                **fields)
                raise
        if reason is None and verified is not None and not self._first_use(
            user.id, credential.id, verified
        ):
            reason = "replay"
        if reason is not None:
            disabled_now = self.attempts.failed(user.id, subject)
            wrong = KeyRefused if is_ceremony(method) else WrongCode
            error: MethodError = MethodDisabled() if disabled_now else wrong(
                tries_left=tries_left
            )
            self.audit.emit(
                f"{event}.failed", user_id=user.id, error_code=error.code, reason=reason,
                tries_left=tries_left, **fields,
            )
            if disabled_now:
                self.audit.emit("method.disabled", user_id=user.id, **fields)
            raise error
        assert verified is not None
        self.attempts.succeeded(user.id, subject, scope=scope)
        self.audit.emit(f"{event}.succeeded", user_id=user.id, **fields)
        return verified

    # -- judging a ceremony's evidence -----------------------------------------------------------

    def _judge(
        self, user: MethodUser, method: Method[Any], credential: Credential,
        challenge: Challenge, verified: Verified, fields: Mapping[str, Any],
    ) -> str | None:
        """The core's rules for what a ceremony reported; a refusal reason or ``None``.
        Sign-in: the key must be one of the credential's and not blocked, the person
        present (UP), BE unchanged since registration; then the counter policy. A
        registration must bring a new key that the credential does not hold yet."""
        if not verified.user_present:
            return "user_not_present"
        if challenge.purpose != "sign-in":
            new = verified.new_key
            if new is None or not new.id:
                return "no_key"
            if any(k.id == new.id for k in credential.keys):
                return "key_exists"
            return None
        key = next((k for k in credential.keys if k.id == verified.key_id), None)
        if key is None:
            return "unknown_key"
        if key.blocked:
            self.audit.emit("method.key.blocked_used", user_id=user.id, key_id=key.id,
                            **fields)
            raise KeyBlocked()
        if verified.backup_eligible is not None and verified.backup_eligible != (
            key.backup_eligible
        ):
            return "backup_eligibility_changed"
        count = int(verified.sign_count or 0)
        if (count or key.counter) and count <= key.counter:
            if key.backup_eligible:
                # Synced passkeys share one counter among devices, or keep it at 0:
                # recorded, not blocked.
                self.audit.emit("method.key.counter_not_increasing", user_id=user.id,
                                key_id=key.id, stored=key.counter, seen=count, blocked=False,
                                **fields)
            else:
                self._update_key(user.id, credential.id, key.id,
                                 lambda k: replace(k, blocked=True))
                self.audit.emit("method.key.cloned", user_id=user.id, key_id=key.id,
                                stored=key.counter, seen=count, blocked=True, **fields)
                raise KeyBlocked()
        return None

    def record_use(self, user_id: str, credential: Credential, verified: Verified) -> None:
        """After a ceremony sign-in passed: the key's new counter and last use."""
        now = self.clock()
        self._update_key(
            user_id, credential.id, str(verified.key_id),
            lambda k: replace(k, counter=max(k.counter, int(verified.sign_count or 0)),
                              last_used_at=now),
        )

    def _update_key(
        self, user_id: str, credential_id: str, key_id: str, change: Callable[[Key], Key]
    ) -> None:
        def apply(current: Any) -> tuple[Any, None]:
            for role, stored in current.items():
                if stored.id == credential_id:
                    keys = tuple(change(k) if k.id == key_id else k for k in stored.keys)
                    current[role] = replace(stored, keys=keys)
            return current, None

        self.credentials.update(user_id, apply)

    def amr_for(
        self, method: Method[Any], credential: Credential, verified: Verified
    ) -> tuple[str, ...]:
        """RFC 8176 values this answer earns. A CODE method: its ``info.amr``. A ceremony,
        from the evidence and never more than ``info.amr`` allows: ``swk`` for a key that
        may be synced (BE), ``hwk`` only for one attested against the operator's roots,
        ``user`` for UP, ``pin`` for UV; never ``otp``/``sms``/``tel``."""
        if not is_ceremony(method):
            return method.info.amr
        key = verified.new_key or next(
            (k for k in credential.keys if k.id == verified.key_id), None
        )
        found: list[str] = []
        if key is not None and (key.backup_eligible or verified.backed_up):
            found.append("swk")
        elif key is not None and key.attested:
            found.append("hwk")
        if verified.user_present:
            found.append("user")
        if verified.user_verified:
            found.append("pin")
        return tuple(a for a in found if a in method.info.amr and a not in CODE_AMR)

    def _first_use(self, user_id: str, credential_id: str, verified: Verified) -> bool:
        remember = max(float(verified.remember_s), float(self.lifetimes.code_s))
        key = f"{USED_PREFIX}{user_id}:{credential_id}:{verified.use_id}"
        return self.store.add(key, b"1", ttl=remember)

    # -- announcements -------------------------------------------------------------------------

    def announce(self, change: MethodChange) -> None:
        for listener in self.listeners:
            listener(change)
