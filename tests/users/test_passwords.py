"""Passwords: argon2id for new hashes; imported schemes verify and get upgraded."""

from __future__ import annotations

import base64
import hashlib

import bcrypt
import pytest

from idp.settings import PasswordSettings
from idp.users.passwords import PasswordPolicyError, Passwords, UnsupportedHash

FAST = PasswordSettings(argon2_time_cost=1, argon2_memory_kib=8192)


def django_pbkdf2(password: str, salt: str = "saltsalt", rounds: int = 1000) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds)
    return f"pbkdf2_sha256${rounds}${salt}${base64.b64encode(digest).decode()}"


def passlib_pbkdf2(password: str, salt: bytes = b"0123456789ab", rounds: int = 1000) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)

    def ab64(raw: bytes) -> str:
        return base64.b64encode(raw, altchars=b"./").decode().rstrip("=")

    return f"$pbkdf2-sha256${rounds}${ab64(salt)}${ab64(digest)}"


def test_new_hashes_are_argon2id_with_configured_parameters() -> None:
    hashed = Passwords(FAST).hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert Passwords(FAST).verify(hashed, "correct horse").ok


def test_owasp_defaults() -> None:
    hashed = Passwords(PasswordSettings()).hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize(
    "make",
    [
        lambda p: bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode(),
        django_pbkdf2,
        passlib_pbkdf2,
        lambda p: Passwords(PasswordSettings(argon2_time_cost=1, argon2_memory_kib=9000)).hash(p),
    ],
    ids=["bcrypt", "django-pbkdf2", "passlib-pbkdf2", "argon2-other-params"],
)
def test_imported_schemes_verify_and_ask_for_rehash(make: object) -> None:
    passwords = Passwords(FAST)
    stored = make("s3cret-pass")  # type: ignore[operator]
    passwords.check_importable(stored)
    right = passwords.verify(stored, "s3cret-pass")
    wrong = passwords.verify(stored, "s3cret-pasS")
    assert right.ok
    assert right.needs_rehash
    assert not wrong.ok


@pytest.mark.parametrize(
    "stored", ["plaintext", "$1$md5crypt$x", "$2b$04$short", "pbkdf2_sha256$x$y$z!", "$argon2id$x"]
)
def test_unsupported_or_malformed_hashes_are_refused(stored: str) -> None:
    with pytest.raises(UnsupportedHash):
        Passwords.check_importable(stored)
    assert not Passwords(FAST).verify(stored, "anything").ok


def test_length_policy() -> None:
    passwords = Passwords(FAST)
    with pytest.raises(PasswordPolicyError) as short:
        passwords.check_policy("1234567")
    assert short.value.code == "password_too_short"
    with pytest.raises(PasswordPolicyError):
        passwords.check_policy("x" * 129)
    passwords.check_policy("12345678")
    passwords.check_policy("パスワードは長いほど良い")  # any Unicode, no composition rules
