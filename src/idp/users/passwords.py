"""Password hashing: argon2id for everything we write, other schemes only to import.

New hashes are argon2id with the configured parameters (OWASP defaults: m=19 MiB, t=2, p=1).
Imported hashes of other schemes (bcrypt, PBKDF2-SHA256 in Django's and passlib's formats,
argon2 with other parameters) verify as they are and are replaced by an argon2id hash at the
next successful sign-in (:meth:`Passwords.verify` says when).

A new password is checked for length (NIST SP 800-63B 5.1.1.2), against a list of common
passwords (ASVS 5.0 6.2.4: zxcvbn's 30,000 most common, of which about 11,600 are long
enough to pass the length rule) and against context words (ASVS 6.1.2 and 6.2.11: the
service's name, ``[passwords] context_words``, and the person's email local part). Nothing
else: no composition rules (ASVS 6.2.5).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import argon2
import bcrypt
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from idp.metrics import observe_password_verify
from idp.settings import PasswordSettings

__all__ = ["PasswordCheck", "PasswordPolicyError", "Passwords", "UnsupportedHash"]


class UnsupportedHash(ValueError):
    """A stored or imported hash is of no scheme we can verify."""


class PasswordPolicyError(ValueError):
    """A new password breaks the policy. ``code`` says which rule: ``password_too_short``,
    ``password_too_long``, ``password_too_common`` or ``password_context``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    # The hash should be replaced (other scheme, weaker parameters): hash the password anew.
    needs_rehash: bool = False


def _b64_padded(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"./")


class Passwords:
    def __init__(self, settings: PasswordSettings) -> None:
        self._settings = settings
        self._hasher = argon2.PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=argon2.Type.ID,
        )
        # Verified against when an account does not exist, so an unknown email costs the same
        # time as a known one (BEHAVIOUR S4).
        self._dummy = self._hasher.hash("nidan-dummy-password-for-timing")

    def check_policy(self, password: str, *, email: str | None = None) -> None:
        """Refuse a new password that is too short or long, common, or contains a context
        word (ours, or the local part of ``email``, the person's address). No composition
        rules (NIST SP 800-63B 5.1.1.2)."""
        if len(password) < self._settings.min_length:
            raise PasswordPolicyError(
                "password_too_short",
                f"a password needs at least {self._settings.min_length} characters",
            )
        if len(password) > self._settings.max_length:
            raise PasswordPolicyError(
                "password_too_long",
                f"a password may have at most {self._settings.max_length} characters",
            )
        folded = _fold(password)
        if folded in _common_passwords():
            raise PasswordPolicyError(
                "password_too_common",
                "this password is one of the most common ones: choose another",
            )
        if any(word in folded for word in _context_words(self._settings.context_words, email)):
            raise PasswordPolicyError(
                "password_context",
                "a password may not contain the service's name or a part of your email address",
            )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> PasswordCheck:
        """Check ``password`` against ``stored`` in constant time for its scheme."""
        started = time.perf_counter()
        try:
            return self._verify(stored, password)
        finally:
            observe_password_verify(time.perf_counter() - started)

    def _verify(self, stored: str, password: str) -> PasswordCheck:
        if stored.startswith("$argon2"):
            try:
                self._hasher.verify(stored, password)
            except VerifyMismatchError:
                return PasswordCheck(ok=False)
            except (VerificationError, InvalidHashError):
                return PasswordCheck(ok=False)
            return PasswordCheck(ok=True, needs_rehash=self._hasher.check_needs_rehash(stored))
        return PasswordCheck(ok=_verify_foreign(stored, password), needs_rehash=True)

    def verify_dummy(self, password: str) -> None:
        """Spend the time a real check would, for an account that does not exist."""
        started = time.perf_counter()
        with contextlib.suppress(VerificationError):
            self._hasher.verify(self._dummy, password)
        observe_password_verify(time.perf_counter() - started)

    @staticmethod
    def check_importable(stored: str) -> None:
        """Raise :class:`UnsupportedHash` unless ``stored`` is of a scheme we verify."""
        scheme = _scheme_of(stored)
        if scheme is None:
            raise UnsupportedHash(
                "unsupported password_hash: expected argon2 ($argon2id$...), bcrypt ($2b$...), "
                "or PBKDF2-SHA256 (pbkdf2_sha256$... or $pbkdf2-sha256$...)"
            )
        if scheme == "argon2":
            try:
                argon2.extract_parameters(stored)
            except InvalidHashError:
                raise UnsupportedHash("password_hash: malformed argon2 hash") from None
        if scheme == "bcrypt" and len(stored) != 60:
            raise UnsupportedHash("password_hash: malformed bcrypt hash")
        if scheme.startswith("pbkdf2"):
            try:
                _parse_pbkdf2(stored)
            except ValueError:
                raise UnsupportedHash("password_hash: malformed PBKDF2 hash") from None


# The shortest email local part (or part of one) counted as a context word: shorter ones
# ("jo", "a.b") would refuse too many good passphrases for too little gain.
_MIN_CONTEXT_CHARS = 4
_LOCAL_PART_SEPARATORS = re.compile(r"[._+\-]+")


def _fold(text: str) -> str:
    """Compatibility-normalised and case-folded: "ＰａｓｓＷｏｒｄ" and "password" compare equal."""
    return unicodedata.normalize("NFKC", text).casefold()


@cache
def _common_passwords() -> frozenset[str]:
    passwords: list[str] = FREQUENCY_LISTS["passwords"]
    return frozenset(_fold(entry) for entry in passwords)


def _context_words(configured: Iterable[str], email: str | None) -> list[str]:
    words = [_fold(word) for word in configured if word.strip()]
    if email and "@" in email:
        local = _fold(email.rsplit("@", 1)[0])
        words += [
            part
            for part in (local, *_LOCAL_PART_SEPARATORS.split(local))
            if len(part) >= _MIN_CONTEXT_CHARS
        ]
    return words


def _scheme_of(stored: str) -> str | None:
    if stored.startswith("$argon2"):
        return "argon2"
    if stored[:4] in ("$2a$", "$2b$", "$2y$"):
        return "bcrypt"
    if stored.startswith("pbkdf2_sha256$"):
        return "pbkdf2-django"
    if stored.startswith("$pbkdf2-sha256$"):
        return "pbkdf2-passlib"
    return None


def _parse_pbkdf2(stored: str) -> tuple[int, bytes, bytes]:
    """Iterations, salt and digest of a Django or passlib PBKDF2-SHA256 hash."""
    if stored.startswith("pbkdf2_sha256$"):
        _, rounds, salt, digest = stored.split("$")
        return int(rounds), salt.encode(), base64.b64decode(digest, validate=True)
    # passlib: $pbkdf2-sha256$rounds$salt$digest in "adapted base64" (./ instead of +/).
    _, _, rounds, salt, digest = stored.split("$")
    return int(rounds), _b64_padded(salt), _b64_padded(digest)


def _verify_foreign(stored: str, password: str) -> bool:
    scheme = _scheme_of(stored)
    secret = password.encode()
    if scheme == "bcrypt":
        # bcrypt reads only 72 bytes; longer passwords could never match what was hashed.
        if len(secret) > 72:
            return False
        try:
            return bcrypt.checkpw(secret, stored.encode())
        except ValueError:
            return False
    if scheme in ("pbkdf2-django", "pbkdf2-passlib"):
        try:
            rounds, salt, digest = _parse_pbkdf2(stored)
        except ValueError:
            return False
        candidate = hashlib.pbkdf2_hmac("sha256", secret, salt, rounds, dklen=len(digest))
        return hmac.compare_digest(candidate, digest)
    return False
