"""User accounts: identity, email, password, status and the security epoch.

A user is one record ``user:<id>`` plus a unique index ``email:<normalised email>`` -> id.
Uniqueness is enforced by ``Store.add`` on the index, updates by ``Store.cas`` on the record,
so concurrent writers on any replica never lose an update or create two accounts for one
email. The password hash never leaves this module except to be verified.
"""

from __future__ import annotations

import secrets
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from idp.methods import MethodUser
from idp.observability import Audit
from idp.store import Store, StoreError, dump_record, load_record
from idp.users.passwords import PasswordCheck, PasswordPolicyError, Passwords

__all__ = [
    "AccountError",
    "Accounts",
    "EmailTaken",
    "InvalidEmail",
    "PasswordPolicyError",
    "User",
    "UserNotFound",
    "method_user",
    "normalise_email",
]

Status = Literal["active", "disabled"]
LOCALES = ("ja", "en")
_MAX_CAS_ATTEMPTS = 100


class AccountError(Exception):
    """A request about accounts that cannot be done; the message is fit to show an operator."""

    code = "account_error"


class UserNotFound(AccountError):
    code = "user_not_found"


class EmailTaken(AccountError):
    code = "email_taken"


class InvalidEmail(AccountError):
    code = "invalid_email"


def normalise_email(email: str) -> str:
    """The form used for uniqueness and look-up: NFKC, trimmed, case-folded.

    Raises :class:`InvalidEmail` for anything that is clearly not an address.
    """
    value = unicodedata.normalize("NFKC", email).strip().casefold()
    local, at, domain = value.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(value) > 254
        or any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in value)
    ):
        raise InvalidEmail(f"not an email address: {email!r}")
    return value


@dataclass(frozen=True)
class User:
    id: str
    email: str
    display_name: str
    locale: str
    status: Status = "active"
    # Bumped by every change of password, methods or recovery codes: trusted browsers and
    # sessions minted under an older epoch stop counting (BEHAVIOUR C4).
    security_epoch: int = 1
    created_at: float = 0.0
    updated_at: float = 0.0
    password_hash: str | None = field(default=None, repr=False)
    # The normalised address the person proved they read (idp.notices.verification); a
    # changed address is unverified until proved again.
    verified_email: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def email_verified(self) -> bool:
        try:
            return self.verified_email == normalise_email(self.email)
        except InvalidEmail:
            return False

    def public(self) -> dict[str, Any]:
        """Everything but the password hash, for listings and ``--json``."""
        data = asdict(self)
        data.pop("password_hash")
        data["has_password"] = self.password_hash is not None
        return data


def _user_key(user_id: str) -> str:
    return f"user:{user_id}"


def _email_key(email_norm: str) -> str:
    return f"email:{email_norm}"


def _to_record(user: User) -> bytes:
    return dump_record(asdict(user))


def _from_record(raw: bytes | None) -> User | None:
    data = load_record(raw)
    if data is None:
        return None
    data.pop("v", None)
    return User(**data)


class Accounts:
    def __init__(self, store: Store, passwords: Passwords, audit: Audit) -> None:
        self._store = store
        self.passwords = passwords
        self._audit = audit

    # -- reading -----------------------------------------------------------------------

    def get(self, user_id: str) -> User | None:
        return _from_record(self._store.get(_user_key(user_id)))

    def find_by_email(self, email: str) -> User | None:
        try:
            key = _email_key(normalise_email(email))
        except InvalidEmail:
            return None
        user_id = self._store.get(key)
        return None if user_id is None else self.get(user_id.decode())

    def require(self, email: str) -> User:
        user = self.find_by_email(email)
        if user is None:
            raise UserNotFound(f"no user with email {email!r}")
        return user

    def all(self) -> Iterator[User]:
        for key in self._store.scan("user:"):
            user = self.get(key.removeprefix("user:"))
            if user is not None:
                yield user

    # -- writing -----------------------------------------------------------------------

    def create(
        self,
        email: str,
        *,
        display_name: str = "",
        locale: str = "ja",
        password: str | None = None,
        password_hash: str | None = None,
        actor: str = "system",
    ) -> User:
        """Create an active user. Give ``password`` (hashed here) or an importable
        ``password_hash``, or neither (the user cannot sign in until one is set)."""
        norm = normalise_email(email)
        if locale not in LOCALES:
            raise AccountError(f"locale {locale!r}: expected one of {', '.join(LOCALES)}")
        if password is not None:
            self.passwords.check_policy(password, email=email)
            password_hash = self.passwords.hash(password)
        elif password_hash is not None:
            self.passwords.check_importable(password_hash)
        now = time.time()
        user = User(
            id=secrets.token_urlsafe(16),
            email=email.strip(),
            display_name=display_name.strip(),
            locale=locale,
            created_at=now,
            updated_at=now,
            password_hash=password_hash,
        )
        if not self._store.add(_email_key(norm), user.id.encode()):
            raise EmailTaken(f"a user with email {email!r} already exists")
        try:
            self._store.set(_user_key(user.id), _to_record(user))
        except StoreError:
            self._store.delete(_email_key(norm))
            raise
        self._audit.emit("user.created", user_id=user.id, actor=actor)
        return user

    def update(self, user_id: str, actor: str = "system", **changes: Any) -> User:
        """Apply ``changes`` atomically against concurrent writers (compare-and-set)."""
        return self._modify(user_id, lambda _current: changes, actor)

    def _modify(
        self, user_id: str, changes_for: Callable[[User], dict[str, Any]], actor: str
    ) -> User:
        """Read, derive the changes from what was read, and write only if nothing changed in
        between; otherwise read again. No update is ever lost."""
        for _ in range(_MAX_CAS_ATTEMPTS):
            raw = self._store.get(_user_key(user_id))
            current = _from_record(raw)
            if current is None:
                raise UserNotFound(f"no user with id {user_id!r}")
            changes = changes_for(current)
            updated = replace(current, **changes, updated_at=time.time())
            if self._store.cas(_user_key(user_id), raw, _to_record(updated)):
                fields = sorted(k for k in changes if k != "password_hash")
                if "password_hash" in changes:
                    fields.append("password")
                self._audit.emit("user.updated", user_id=user_id, actor=actor, fields=fields)
                return updated
        raise StoreError("the user record kept changing; try again")

    def set_status(self, user_id: str, status: Status, actor: str = "system") -> User:
        """Disabling also moves the security epoch (C4): the sessions, trusted browsers and
        grants of before stay ended when the account is enabled again."""
        def changes(user: User) -> dict[str, Any]:
            if status == "disabled" and user.status == "active":
                return {"status": status, "security_epoch": user.security_epoch + 1}
            return {"status": status}

        return self._modify(user_id, changes, actor)

    def set_password(self, user_id: str, password: str, actor: str = "system") -> User:
        """Hash and store a new password; bumps the security epoch (C4)."""
        user = self.get(user_id)
        if user is None:
            raise UserNotFound(f"no user with id {user_id!r}")
        self.passwords.check_policy(password, email=user.email)
        password_hash = self.passwords.hash(password)
        return self._modify(
            user_id,
            lambda user: {"password_hash": password_hash,
                          "security_epoch": user.security_epoch + 1},
            actor,
        )

    def bump_epoch(self, user_id: str, reason: str, actor: str = "system") -> User:
        """Invalidate trusted browsers and sessions of an older epoch (C4)."""
        updated = self._modify(
            user_id, lambda user: {"security_epoch": user.security_epoch + 1}, actor
        )
        self._audit.emit("user.epoch_bumped", user_id=user_id, reason=reason)
        return updated

    def change_email(self, user_id: str, email: str, actor: str = "system") -> User:
        """Give the person another address: the new index entry first (``EmailTaken`` if
        someone has it), then the record, then the old entry goes. The new address is
        unverified until proved (``User.email_verified``)."""
        norm = normalise_email(email)
        current = self.get(user_id)
        if current is None:
            raise UserNotFound(f"no user with id {user_id!r}")
        old = normalise_email(current.email)
        if norm == old:
            return self.update(user_id, actor=actor, email=email.strip())
        if not self._store.add(_email_key(norm), user_id.encode()):
            raise EmailTaken(f"a user with email {email!r} already exists")
        try:
            updated = self.update(user_id, actor=actor, email=email.strip())
        except BaseException:
            self._store.delete(_email_key(norm))
            raise
        self._store.cas(_email_key(old), user_id.encode(), None)
        return updated

    def delete(self, user_id: str, actor: str = "system") -> None:
        user = self.get(user_id)
        if user is None:
            raise UserNotFound(f"no user with id {user_id!r}")
        self._store.delete(_user_key(user_id))
        self._store.delete(_email_key(normalise_email(user.email)))
        self._audit.emit("user.deleted", user_id=user_id, actor=actor)

    # -- passwords ---------------------------------------------------------------------

    def check_password(self, user: User, password: str) -> bool:
        """Verify, and upgrade an imported or weaker hash to argon2id on success."""
        if user.password_hash is None:
            self.passwords.verify_dummy(password)
            return False
        check: PasswordCheck = self.passwords.verify(user.password_hash, password)
        if check.ok and check.needs_rehash:
            self.update(user.id, actor="sign-in", password_hash=self.passwords.hash(password))
            self._audit.emit("user.password_rehashed", user_id=user.id)
        return check.ok


def method_user(user: User, locale: str | None = None) -> MethodUser:
    """The person as a method plugin sees them, in this interaction's language (``locale``,
    else their own)."""
    return MethodUser(id=user.id, email=user.email, display_name=user.display_name,
                      locale=locale or user.locale)
