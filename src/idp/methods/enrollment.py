"""Enrollment and replacement of credentials (BEHAVIOUR E2-E7, C1, C2).

A pending enrollment (``methods:enroll:<user>:<role>``, encrypted, lives as long as a login
transaction) holds the credential to be. The plugin's ``send_challenge`` and ``verify`` prove
it exactly as at sign-in, through the core's tries and single use; only then is it saved,
with compare-and-set on the person's record and the policy checked against the other role
at that moment, so two tabs or two replicas cannot produce a forbidden pair.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from idp.methods.base import Channel, Credential, Method, MethodUser
from idp.methods.core import (
    EnrollmentResult,
    MethodChange,
    MethodCore,
    PendingEnrollment,
    is_ceremony,
    json_safe,
    key_name,
)
from idp.methods.credentials import (
    ENROLL_PREFIX,
    ROLES,
    Credentials,
    Role,
    StoredCredential,
    enrollment_aad,
    secret_from_json,
    secret_to_json,
)
from idp.methods.errors import EnrollmentExpired
from idp.methods.phone import parse_phone
from idp.methods.policy import Choice
from idp.store import dump_record, load_record

__all__ = ["Enrollments", "check_role", "other_role", "prepare_credential"]

def other_role(role: Role) -> Role:
    return "backup" if role == "primary" else "primary"


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    return role


def new_credential_id() -> str:
    return secrets.token_hex(12)


class Enrollments:
    """The enrollment flow; ``MethodService`` exposes it."""

    def __init__(self, core: MethodCore) -> None:
        self.core = core

    # -- pending state -----------------------------------------------------------------------

    @staticmethod
    def _key(user_id: str, role: Role) -> str:
        return f"{ENROLL_PREFIX}{user_id}:{role}"

    def _save_pending(
        self, user: MethodUser, role: Role, credential: Credential,
        display: Mapping[str, str], *, replacing: bool, key_name_: str = "",
    ) -> float:
        core = self.core
        expires_at = core.clock() + core.lifetimes.login_transaction_s
        sealed = core.credentials.seal_value(
            enrollment_aad(user.id, role),
            {
                "credential_id": credential.id,
                "secret": secret_to_json(credential.secret),
                "phone": credential.phone,
                "public": dict(credential.public),
                "display": dict(display),
            },
        )
        record = {"method": credential.method, "sealed": sealed, "expires_at": expires_at,
                  "replacing": replacing, "key_name": key_name_}
        core.store.set(self._key(user.id, role), dump_record(record),
                       ttl=core.lifetimes.login_transaction_s)
        return expires_at

    def _load_pending(
        self, user: MethodUser, role: Role
    ) -> tuple[dict[str, Any], Credential, dict[str, str]]:
        core = self.core
        record = load_record(core.store.get(self._key(user.id, role)))
        if record is None:
            raise EnrollmentExpired()
        opened = core.credentials.open_value(enrollment_aad(user.id, role), record["sealed"])
        credential = Credential(
            secret=secret_from_json(opened["secret"]),
            public=opened.get("public") or {},
            phone=opened.get("phone"),
            id=str(opened["credential_id"]),
            method=str(record["method"]),
        )
        return record, credential, dict(opened.get("display") or {})

    def pending(
        self, user: MethodUser, role: Role, transaction: str = ""
    ) -> PendingEnrollment | None:
        """The pending enrollment; for a CEREMONY method with a fresh ceremony (each view
        of the page gets its own challenge: the previous one may have been taken)."""
        try:
            record, credential, display = self._load_pending(user, check_role(role))
        except EnrollmentExpired:
            return None
        method = self.core.methods.get(credential.method)
        if method is not None and is_ceremony(method):
            challenge = self.core.send(
                user, method, credential, purpose="enrollment", transaction=transaction,
                name=str(record.get("key_name") or ""),
            )
            view = self._pending_view(user, role, record, credential, display, "")
            return replace(view, sent_to=None, ceremony=dict(challenge.data))
        return self._pending_view(user, role, record, credential, display)

    def _pending_view(
        self, user: MethodUser, role: Role, record: Mapping[str, Any],
        credential: Credential, display: Mapping[str, str], sent_to: str | None = None,
    ) -> PendingEnrollment:
        core = self.core
        if sent_to is None:
            challenge = load_record(core.store.get(core.challenge_key(user.id, credential.id)))
            sent_to = None if challenge is None else challenge.get("sent_to")
        return PendingEnrollment(
            role=role,
            method=credential.method,
            credential_id=credential.id,
            display=display,
            sent_to=sent_to,
            resend_at=core.sends.next_send_at(user.id, f"enroll-{role}"),
            expires_at=float(record["expires_at"]),
            replacing=bool(record.get("replacing")),
        )

    def cancel(self, user: MethodUser, role: Role) -> None:
        self.core.store.delete(self._key(user.id, check_role(role)))

    # -- flow ----------------------------------------------------------------------------------

    def begin(
        self, user: MethodUser, role: Role, method_id: str, form: Mapping[str, str],
        transaction: str = "",
    ) -> PendingEnrollment:
        core = self.core
        role = check_role(role)
        fields: dict[str, Any] = {"method": method_id, "role": role}
        with core.audit_failure("method.enroll.failed", user.id, fields):
            method = core.method(method_id)
            core.policy.check_role(role, method_id)
            enrollment = method.begin_enrollment(user, form)
            credential = prepare_credential(method, enrollment.credential)
            fields["credential_id"] = credential.id
            display = json_safe(dict(enrollment.display), "enrollment display", method_id)
            current = core.credentials.load(user.id)
            candidate = Choice(method_id, method.info.channel, self._phone_key(credential))
            core.policy.check(role, candidate, core.choice(current.get(other_role(role))))
            # Limits first: a refused send must not replace a pending enrollment whose
            # code the person may already have.
            resend_at = core.reserve_send(
                user.id, method, credential.id, cooldown_subject=f"enroll-{role}",
                phone_key=candidate.phone_key, country_code=_country(credential),
            )
            name = key_name(form, method.label(user.locale)) if method.info.several_keys else ""
            expires_at = self._save_pending(user, role, credential, display,
                                            replacing=role in current, key_name_=name)
            core.audit.emit("method.enroll.started", user_id=user.id, **fields)
            challenge = core.send(user, method, credential, purpose="enrollment",
                                  transaction=transaction, name=name)
        if challenge.sent_to is not None:
            core.audit.emit("method.challenge.sent", user_id=user.id, sent_to=challenge.sent_to,
                            purpose="enrollment", **fields)
        ceremony = is_ceremony(method)
        return PendingEnrollment(
            role=role, method=method_id, credential_id=credential.id, display=display,
            sent_to=None if ceremony else challenge.sent_to, resend_at=resend_at,
            expires_at=expires_at, replacing=role in current,
            ceremony=dict(challenge.data) if ceremony else None,
        )

    def resend(self, user: MethodUser, role: Role, transaction: str = "") -> PendingEnrollment:
        core = self.core
        role = check_role(role)
        found = self.pending(user, role, transaction)
        if found is not None and found.ceremony is not None:
            return found  # a ceremony is simply started again: nothing is sent
        fields: dict[str, Any] = {"role": role}
        with core.audit_failure("method.enroll.failed", user.id, fields):
            record, credential, display = self._load_pending(user, role)
            fields.update(method=credential.method, credential_id=credential.id)
            method = core.method(credential.method)
            phone_key = self._phone_key(credential)
            challenge, _ = core.issue_challenge(
                user, method, credential, cooldown_subject=f"enroll-{role}",
                phone_key=phone_key, country_code=_country(credential),
            )
        core.audit.emit("method.challenge.sent", user_id=user.id, sent_to=challenge.sent_to,
                        purpose="enrollment", **fields)
        return self._pending_view(user, role, record, credential, display, challenge.sent_to)

    def complete(
        self, user: MethodUser, role: Role, form: Mapping[str, str], transaction: str = ""
    ) -> EnrollmentResult:
        core = self.core
        role = check_role(role)
        fields: dict[str, Any] = {"role": role}
        with core.audit_failure("method.enroll.failed", user.id, fields):
            _, credential, _ = self._load_pending(user, role)
            fields.update(method=credential.method, credential_id=credential.id)
            method = core.method(credential.method)
            challenge = core.load_challenge(user.id, method, credential.id,
                                            transaction=transaction, purpose="enrollment")
        verified = core.check(user, method, credential, challenge, form,
                              event="method.enroll.verify", fields=fields)
        if verified.new_key is not None:
            key = replace(verified.new_key, name=challenge.sent_to or verified.new_key.name,
                          created_at=core.clock(), counter=int(verified.sign_count or 0))
            credential = replace(credential, keys=(key,))
            core.audit.emit("method.key.added", user_id=user.id, key_id=key.id,
                            attested=key.attested, backup_eligible=key.backup_eligible,
                            **fields)
        stored = core.credentials.to_stored(user.id, role, credential)
        with core.audit_failure("method.enroll.failed", user.id, fields):
            replaced, complete = self._commit(user.id, role, stored)
        core.store.delete(self._key(user.id, role))
        core.store.delete(core.challenge_key(user.id, credential.id))
        # The cooldown guards a pending enrollment's resends; a finished one needs none.
        core.sends.clear_cooldown(user.id, f"enroll-{role}")
        if replaced is not None:
            self.forget(user.id, replaced)
        codes: tuple[str, ...] = ()
        if complete and not core.recovery.exists(user.id):
            codes = core.recovery.generate(user.id).codes
            core.audit.emit("recovery.generated", user_id=user.id, count=len(codes),
                            initial=True)
        core.audit.emit("method.enroll.completed", user_id=user.id, complete=complete,
                        replaced=replaced is not None, **fields)
        core.announce(MethodChange(user.id, "replaced" if replaced else "enrolled", role))
        return EnrollmentResult(
            credential=core.view(user.id, stored, user.locale), complete=complete,
            recovery_codes=codes, amr=core.amr_for(method, credential, verified),
        )

    def _commit(
        self, user_id: str, role: Role, stored: StoredCredential
    ) -> tuple[StoredCredential | None, bool]:
        core = self.core

        def change(current: Credentials) -> tuple[Credentials, tuple[StoredCredential | None,
                                                                       bool]]:
            candidate = core.choice(stored)
            assert candidate is not None
            core.policy.check(role, candidate, core.choice(current.get(other_role(role))))
            replaced = current.get(role)
            current[role] = stored
            return current, (replaced, all(r in current for r in ROLES))

        return core.credentials.update(user_id, change)

    def forget(self, user_id: str, stored: StoredCredential) -> None:
        """Drop what belonged to a credential that is gone: counters, challenge."""
        core = self.core
        core.attempts.reset(user_id, stored.id)
        core.store.delete(core.challenge_key(user_id, stored.id))

    # -- helpers ---------------------------------------------------------------------------------

    def _phone_key(self, credential: Credential) -> str | None:
        if credential.phone is None:
            return None
        return self.core.credentials.phone_key(credential.phone)


def prepare_credential(method: Method[Any], credential: Credential) -> Credential:
    """Give a plugin's new credential its id and method; check what the core relies on."""
    method_id = method.info.id
    if method.info.channel is Channel.PHONE and not credential.phone:
        raise TypeError(f"method {method_id!r} is a PHONE method but set no phone number")
    if not isinstance(credential.secret, bytes | bytearray):
        json_safe(dict(credential.secret), "a credential secret", method_id)
    json_safe(dict(credential.public), "public credential data", method_id)
    return replace(credential, id=new_credential_id(), method=method_id)


def _country(credential: Credential) -> int | None:
    if credential.phone is None:
        return None
    # Already E.164: the region argument is not used.
    return parse_phone(credential.phone, "ZZ").country_code
