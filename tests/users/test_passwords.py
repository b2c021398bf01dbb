"""Passwords: argon2id for new hashes; imported schemes verify and get upgraded."""

from __future__ import annotations

import base64
import hashlib

import bcrypt
import pytest

from idp.services import Services
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
    passwords.check_policy("tq7wbn3x")
    passwords.check_policy("パスワードは長いほど良い")  # any Unicode, no composition rules


@pytest.mark.parametrize(
    "password",
    ["password123", "iloveyou", "PASSWORD1", "ｐａｓｓｗｏｒｄ１２３", "Qwertyuiop", "1234567890"],
)
def test_a_common_password_is_refused_whatever_its_case_or_width(password: str) -> None:
    with pytest.raises(PasswordPolicyError) as refused:
        Passwords(FAST).check_policy(password)
    assert refused.value.code == "password_too_common"


@pytest.mark.parametrize(
    ("password", "email"),
    [
        ("my-nidan-account", None),  # the service's name, configured default
        ("NIDAN is two steps", None),  # case-folded
        ("ｎｉｄａｎ-full-width", None),  # NFKC: full-width letters are letters
        ("二段認証のパスワード", None),  # the Japanese name
        ("hanako.yamada rules", "hanako.yamada@example.jp"),  # the whole local part
        ("yamada-is-my-name", "hanako.yamada@example.jp"),  # one part of it
        ("Hanako2026 spring!", "hanako_y+idp@example.jp"),  # a part, another case
    ],
)
def test_a_password_with_a_context_word_is_refused(password: str, email: str | None) -> None:
    with pytest.raises(PasswordPolicyError) as refused:
        Passwords(FAST).check_policy(password, email=email)
    assert refused.value.code == "password_context"


def test_the_context_words_come_from_the_settings() -> None:
    passwords = Passwords(
        PasswordSettings(argon2_time_cost=1, argon2_memory_kib=8192, context_words=["Acme"])
    )
    with pytest.raises(PasswordPolicyError) as refused:
        passwords.check_policy("acme-corp-forever")
    assert refused.value.code == "password_context"
    passwords.check_policy("nidan is not listed here")  # the default list was replaced


def test_short_email_parts_are_not_context_words() -> None:
    # "jo" and "li" are too short to count: a passphrase that happens to contain them passes.
    Passwords(FAST).check_policy("join the lighthouse keepers", email="jo.li@example.com")


@pytest.mark.parametrize(
    "password",
    [
        "orange-kettle-harbour-seven",
        "パスワードは長いほど良い",
        "tq7wbn3x",  # the shortest allowed
        "correct horse bat",
        "walk slowly past the old mill and count the ducks " + "9" * 14,  # 64 (ASVS 6.2.9)
        "quiet " * 21 + "ox",  # 128, the default max_length
    ],
)
def test_a_good_passphrase_is_accepted(password: str) -> None:
    Passwords(FAST).check_policy(password, email="hanako.yamada@example.jp")


def test_accounts_check_the_policy_with_the_persons_email(services: Services) -> None:
    """create and set_password pass the person's address: their own name is refused, and a
    refused password changes nothing."""
    accounts = services.accounts
    with pytest.raises(PasswordPolicyError) as on_create:
        accounts.create("kenji.sato@example.jp", password="sato kenji 1985")
    assert on_create.value.code == "password_context"
    assert accounts.find_by_email("kenji.sato@example.jp") is None
    user = accounts.create("kenji.sato@example.jp", password="quiet river stones")
    with pytest.raises(PasswordPolicyError) as on_set:
        accounts.set_password(user.id, "letmein1")
    assert on_set.value.code == "password_too_common"
    with pytest.raises(PasswordPolicyError) as with_name:
        accounts.set_password(user.id, "kenji-the-great")
    assert with_name.value.code == "password_context"
    unchanged = accounts.require(user.email)
    assert unchanged.security_epoch == user.security_epoch
    assert accounts.check_password(unchanged, "quiet river stones")
