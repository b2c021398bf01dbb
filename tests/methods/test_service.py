"""MethodService flows: enrollment, sign-in, changes, reset, import (E2-E7, S3, S5, C1-C4, A2)."""

from __future__ import annotations

import base64
import urllib.parse
from contextlib import closing

import pytest

from idp.methods import (
    AppBothRoles,
    CodeExpired,
    EnrollmentExpired,
    EnrollmentInvalid,
    MethodNotEnabled,
    NotEnrolled,
    PhoneNotSmsCapable,
    RoleNotAllowed,
    SamePhoneTwice,
    TooFewMethods,
    WrongCode,
)
from idp.methods.core import MethodChange
from tests.methods.helpers import World


def test_enrollment_needs_both_roles(world: World) -> None:
    # covers E1, E2
    user = world.user()
    assert not world.service.is_enrolled(user.id)
    world.enroll_totp(user, "primary")
    assert not world.service.is_enrolled(user.id)
    world.enroll_phone(user, "backup", "sms", "090-1234-5678")
    assert world.service.is_enrolled(user.id)
    views = world.service.credentials(user)
    assert {r: v.method for r, v in views.items()} == {"primary": "totp", "backup": "sms"}
    assert views["backup"].description == "Text message to +81 90-****-5678"


def test_app_setup_shows_qr_uri_and_grouped_secret(world: World) -> None:
    # covers E6
    user = world.user()
    pending = world.service.begin_enrollment(user, "primary", "totp", {})
    uri = urllib.parse.urlsplit(pending.display["otpauth_uri"])
    query = urllib.parse.parse_qs(uri.query)
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert urllib.parse.unquote(uri.path) == "/Nidan:u1@example.com"
    assert query["issuer"] == ["Nidan"]
    secret = query["secret"][0]
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20  # 160 bits
    assert pending.display["secret_grouped"].replace(" ", "") == secret
    assert all(len(group) == 4 for group in pending.display["secret_grouped"].split()[:-1])
    assert pending.display["qr_svg"].startswith("<svg")
    assert secret not in repr(pending)
    # A reloaded page finds the same setup.
    again = world.service.pending_enrollment(user, "primary")
    assert again is not None
    assert again.display["otpauth_uri"] == pending.display["otpauth_uri"]


def test_enrollment_completes_only_with_the_code_it_delivered(world: World) -> None:
    # covers E2 (each verified with a code it delivered before it is saved)
    user = world.user()
    world.service.begin_enrollment(user, "primary", "voice", {"phone": "03-1234-5678"})
    call = world.messages()[0]
    assert call["channel"] == "voice"
    assert call["to"] == "+81312345678"
    right = world.last_code()
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    with pytest.raises(WrongCode):
        world.service.complete_enrollment(user, "primary", {"code": wrong})
    assert world.service.credentials(user) == {}
    world.service.complete_enrollment(user, "primary", {"code": right})
    assert world.service.credentials(user)["primary"].method == "voice"


def test_the_app_cannot_be_both(world: World) -> None:
    # covers E3
    user = world.user()
    world.enroll_totp(user, "primary")
    assert [c.id for c in world.service.available(user, "backup")] == ["sms", "voice"]
    with pytest.raises(AppBothRoles):
        world.service.begin_enrollment(user, "backup", "totp", {})
    event = world.events_named("method.enroll.failed")[-1]
    assert event["error_code"] == "app_both_roles"


def test_one_number_cannot_serve_both_roles(world: World) -> None:
    # covers E4: 090-1234-5678 and +81 90 1234 5678 are one number
    user = world.user()
    world.enroll_phone(user, "primary", "sms", "090-1234-5678")
    sent_before = len(world.messages())
    with pytest.raises(SamePhoneTwice):
        world.service.begin_enrollment(user, "backup", "voice", {"phone": "+81 90 1234 5678"})
    assert len(world.messages()) == sent_before  # refused before anything was sent
    world.enroll_phone(user, "backup", "voice", "03-1234-5678")


def test_e4_is_checked_again_when_the_second_enrollment_completes(world: World) -> None:
    # covers E4, C2 (two pending enrollments racing to the same number)
    user = world.user()
    world.service.begin_enrollment(user, "primary", "sms", {"phone": "090-1234-5678"})
    primary_code = world.last_code()
    world.service.begin_enrollment(user, "backup", "voice", {"phone": "+81 90 1234 5678"})
    backup_code = world.last_code()
    world.service.complete_enrollment(user, "primary", {"code": primary_code})
    with pytest.raises(SamePhoneTwice):
        world.service.complete_enrollment(user, "backup", {"code": backup_code})
    assert set(world.service.credentials(user)) == {"primary"}


def test_sms_refuses_numbers_that_cannot_receive_it_and_voice_takes_them(world: World) -> None:
    # covers E5
    user = world.user()
    for number in ("050-1234-5678", "03-1234-5678"):
        with pytest.raises(PhoneNotSmsCapable) as refused:
            world.service.begin_enrollment(user, "primary", "sms", {"phone": number})
        assert "voice call" in refused.value.message("en")
        assert "音声通話" in refused.value.message("ja")
    world.enroll_phone(user, "primary", "voice", "050-1234-5678")


def test_role_lists_are_enforced(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    enrollment = {"primary": ["sms"], "backup": ["totp", "voice"]}
    with closing(World(tmp_path, enrollment=enrollment)) as world:
        with pytest.raises(RoleNotAllowed):
            world.service.begin_enrollment(world.user(), "primary", "totp", {})
        assert [c.id for c in world.service.available(world.user(), "primary")] == ["sms"]


def test_unknown_methods_are_not_enabled(world: World) -> None:
    with pytest.raises(MethodNotEnabled):
        world.service.begin_enrollment(world.user(), "primary", "carrier-pigeon", {})


def test_an_expired_enrollment_must_start_again(world: World) -> None:
    with pytest.raises(EnrollmentExpired):
        world.service.complete_enrollment(world.user(), "primary", {"code": "123456"})


def test_sign_in_uses_primary_then_backup(world: World) -> None:
    # covers S3
    user = world.user()
    secret = world.enroll_both(user)
    sent = world.service.send_challenge(user, "primary")
    assert sent.sent_to is None  # the app is simply opened
    result = world.service.verify(user, "primary", {"code": world.totp_code(secret)})
    assert result.amr == ("otp",)
    sent = world.service.send_challenge(user, "backup")  # "Didn't receive the code?"
    assert sent.sent_to == "+81 90-****-5678"
    assert sent.resend_at is not None
    result = world.service.verify(user, "backup", {"code": world.last_code()})
    assert result.amr == ("sms",)
    assert result.role == "backup"


def test_totp_accepts_one_step_of_drift_and_no_more(world: World) -> None:
    # covers S5
    user = world.user()
    secret = world.enroll_totp(user)
    for offset in (-30, 30):
        world.advance(90)
        assert world.service.verify(user, "primary",
                                    {"code": world.totp_code(secret, world.now() + offset)})
    for offset in (-60, 60):
        world.advance(90)
        with pytest.raises(WrongCode):
            world.service.verify(user, "primary",
                                 {"code": world.totp_code(secret, world.now() + offset)})


def test_replacing_a_method_keeps_two_at_every_moment(world: World) -> None:
    # covers C1, C2, C4
    user = world.user()
    changes: list[MethodChange] = []
    world.service.listeners.append(changes.append)
    world.enroll_both(user)
    with pytest.raises(TooFewMethods):
        world.service.remove(user, "primary")
    world.service.begin_enrollment(user, "primary", "voice", {"phone": "03-1234-5678"})
    # Until the new method is verified, the old one stays.
    assert world.service.credentials(user)["primary"].method == "totp"
    result = world.service.complete_enrollment(user, "primary", {"code": world.last_code()})
    assert result.complete
    assert world.service.credentials(user)["primary"].method == "voice"
    assert [c.kind for c in changes] == ["enrolled", "enrolled", "replaced"]
    assert world.events_named("method.enroll.completed")[-1]["replaced"] is True


def test_swap_roles(world: World) -> None:
    # covers C1
    user = world.user()
    world.enroll_both(user)
    world.service.swap_roles(user)
    views = world.service.credentials(user)
    assert (views["primary"].method, views["backup"].method) == ("sms", "totp")
    assert world.events_named("method.swapped")


def test_removing_is_allowed_only_while_enrollment_is_incomplete(world: World) -> None:
    user = world.user()
    world.enroll_totp(user)
    world.service.remove(user, "primary")
    assert world.service.credentials(user) == {}
    with pytest.raises(NotEnrolled):
        world.service.remove(user, "primary")


def test_operator_reset_clears_everything_and_is_audited(world: World) -> None:
    # covers C3, C4
    user = world.user()
    changes: list[MethodChange] = []
    world.service.listeners.append(changes.append)
    world.enroll_both(user)
    world.service.begin_enrollment(user, "backup", "voice", {"phone": "03-1234-5678"})
    assert world.service.reset(user.id, actor="admin:alice") == 2
    assert world.service.credentials(user) == {}
    assert world.service.pending_enrollment(user, "backup") is None
    assert world.service.recovery_codes_left(user.id) == 0
    event = world.events_named("method.reset")[0]
    assert (event["actor"], event["count"]) == ("admin:alice", 2)
    assert changes[-1] == MethodChange(user.id, "reset")
    with pytest.raises(NotEnrolled):
        world.service.send_challenge(user, "primary")


def test_secrets_and_numbers_are_encrypted_at_rest(world: World) -> None:
    # DESIGN "The Store": TOTP seeds and phone numbers encrypted
    user = world.user()
    secret = world.enroll_both(user, phone="090-1234-5678")
    raw = b"".join(world.store.get(k) or b"" for k in world.store.scan(""))
    for needle in (secret, secret[:16], "+819012345678", "9012345678", "1234-5678"):
        assert needle.encode() not in raw
    assert b"g1.test1." in raw  # sealed under the configured key id


def test_describe_in_both_languages(world: World) -> None:
    # covers L1
    user = world.user(locale="ja")
    world.enroll_totp(user)
    world.enroll_phone(user, "backup", "voice", "03-1234-5678")
    views = world.service.credentials(user)
    assert views["primary"].label == "認証アプリ"
    assert views["backup"].description == "音声通話（+81 3-1***-5678）"


def test_import_validates_without_writing_then_stores(world: World) -> None:
    # covers A2
    user = world.user()
    secret = base64.b32encode(b"0123456789abcdefghij").decode()
    primary = world.service.validate_import("totp", "primary", {"secret": secret.lower()})
    backup = world.service.validate_import("sms", "backup", {"phone": "090-1234-5678"})
    same = world.service.validate_import("voice", "backup", {"phone": "+81 90 1234 5678"})
    world.service.validate_import_pair(primary, backup)
    with pytest.raises(SamePhoneTwice):
        world.service.validate_import_pair(
            world.service.validate_import("sms", "primary", {"phone": "090-1234-5678"}), same
        )
    assert list(world.store.scan("methods:cred:")) == []
    assert secret not in repr(primary)
    world.service.import_credential(user, "totp", "primary", {"secret": secret})
    world.service.import_credential(user, "sms", "backup", {"phone": "090-1234-5678"})
    assert world.service.is_enrolled(user.id)
    assert world.service.verify(user, "primary", {"code": world.totp_code(secret)})
    with pytest.raises(EnrollmentInvalid) as taken:
        world.service.import_credential(user, "voice", "backup", {"phone": "03-1234-5678"})
    assert taken.value.detail == "the user already has a backup method"
    assert len(world.events_named("method.imported")) == 2


@pytest.mark.parametrize(
    ("method", "data", "detail"),
    [
        ("totp", {}, "secret: missing"),
        ("totp", {"secret": "not base32!"}, "secret: not valid base32"),
        ("totp", {"secret": "JBSWY3DPEHPK3PXP"}, "secret: 80 bits is too short"),
        ("totp", {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "digits": "7"},
         "digits: expected 6 or 8"),
        ("totp", {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "algorithm": "MD5"},
         "algorithm: expected SHA1, SHA256 or SHA512"),
        ("sms", {"phone": "03-1234-5678"}, "phone: phone_not_sms_capable"),
        ("voice", {"phone": "12"}, "phone: phone_invalid"),
    ],
)
def test_bad_import_rows_name_the_column(
    world: World, method: str, data: dict[str, str], detail: str
) -> None:
    with pytest.raises(EnrollmentInvalid) as refused:
        world.service.validate_import(method, "primary", data)
    assert refused.value.detail is not None
    assert refused.value.detail.startswith(detail)
    for value in data.values():
        if len(value) > 4:
            assert value not in str(refused.value)


def test_challenge_of_a_role_without_method(world: World) -> None:
    with pytest.raises(NotEnrolled):
        world.service.verify(world.user(), "backup", {"code": "123456"})
    assert world.events_named("method.verify.failed")[0]["error_code"] == "not_enrolled"


def test_a_delivered_code_needs_a_challenge_first(world: World) -> None:
    user = world.user()
    world.enroll_both(user)
    with pytest.raises(CodeExpired):
        world.service.verify(user, "backup", {"code": "123456"})


def test_a_persons_rows_are_validated_together_and_stored_all_or_none(world: World) -> None:
    # covers A2, E3, E4
    secret = base64.b32encode(b"0123456789abcdefghij").decode()
    rows: list[tuple[str, str, dict[str, str]]] = [
        ("totp", "primary", {"secret": secret}),
        ("voice", "backup", {"phone": "050-1234-5678"}),
    ]
    prepared = world.service.validate_import_set(rows)
    assert {role: p.method for role, p in prepared.items()} == {
        "primary": "totp", "backup": "voice",
    }
    with pytest.raises(AppBothRoles):
        world.service.validate_import_set([rows[0], ("totp", "backup", {"secret": secret})])
    with pytest.raises(EnrollmentInvalid) as twice:
        world.service.validate_import_set([rows[0], ("sms", "primary",
                                                      {"phone": "090-1234-5678"})])
    assert twice.value.detail == "two primary methods"
    with pytest.raises(PhoneNotSmsCapable) as located:
        world.service.validate_import_set([("sms", "backup", {"phone": "03-1234-5678"})])
    assert located.value.detail == "backup method 'sms': phone: phone_not_sms_capable"
    user = world.user()
    # A bad second row stores nothing of the first.
    with pytest.raises(SamePhoneTwice):
        world.service.import_credentials(user, [
            ("sms", "primary", {"phone": "090-1234-5678"}),
            ("voice", "backup", {"phone": "+81 90 1234 5678"}),
        ])
    assert world.service.credentials(user) == {}
    assert world.events_named("method.import.failed")[-1]["error_code"] == "same_phone_twice"
    views = world.service.import_credentials(user, rows)
    assert [v.source for v in views] == ["imported", "imported"]
    assert world.service.is_enrolled(user.id)
    assert world.service.recovery_codes_left(user.id) == 0  # generated from the settings page
