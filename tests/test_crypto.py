"""Encryption at rest: AES-256-GCM with key ids, rotation (DESIGN "The Store")."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr

from idp.crypto import (
    DataKeyError,
    DataKeys,
    DecryptionError,
    generate_data_key,
)
from idp.methods.credentials import rotate_data_key
from idp.settings import SecretSettings
from tests.methods.helpers import World

OLD = "old:" + base64.b64encode(b"o" * 32).decode()
NEW = "new:" + base64.b64encode(b"n" * 32).decode()


def test_round_trip_and_self_describing_tokens() -> None:
    keys = DataKeys.from_strings([NEW, OLD])
    token = keys.encrypt(b"seed", b"user:1")
    assert token.startswith("g1.new.")
    assert keys.key_id_of(token) == "new"
    assert keys.decrypt(token, b"user:1") == b"seed"
    # Random 96-bit nonces: the same plaintext never gives the same token.
    assert keys.encrypt(b"seed", b"user:1") != token


def test_from_settings() -> None:
    keys = DataKeys.from_settings(SecretSettings(data_keys=[SecretStr(NEW)]))
    assert keys.current_id == "new"
    assert keys.key_ids == ("new",)


def test_the_aad_binds_a_token_to_its_record() -> None:
    keys = DataKeys.from_strings([NEW])
    token = keys.encrypt(b"seed", b"nidan:credential:alice:c1")
    with pytest.raises(DecryptionError, match="belongs to another record"):
        keys.decrypt(token, b"nidan:credential:mallory:c1")


@pytest.mark.parametrize("position", [10, 20, -1])
def test_tampering_is_detected(position: int) -> None:
    keys = DataKeys.from_strings([NEW])
    token = keys.encrypt(b"seed", b"aad")
    head, _, body = token.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[position] ^= 1
    forged = f"{head}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"
    with pytest.raises(DecryptionError, match="failed authentication"):
        keys.decrypt(forged, b"aad")


@pytest.mark.parametrize("token", ["", "g1", "g2.new.AAAA", "g1.new.", "g1.new.AAAA", "g1.n w.AA"])
def test_malformed_tokens_are_refused_clearly(token: str) -> None:
    with pytest.raises(DecryptionError):
        DataKeys.from_strings([NEW]).decrypt(token, b"aad")


def test_an_unknown_key_id_is_named() -> None:
    token = DataKeys.from_strings([OLD]).encrypt(b"seed", b"aad")
    with pytest.raises(DecryptionError, match="data key 'old' is not configured"):
        DataKeys.from_strings([NEW]).decrypt(token, b"aad")


def test_the_first_key_encrypts_and_all_decrypt() -> None:
    old_token = DataKeys.from_strings([OLD]).encrypt(b"seed", b"aad")
    rotated = DataKeys.from_strings([NEW, OLD])
    assert rotated.decrypt(old_token, b"aad") == b"seed"
    assert rotated.needs_rotation(old_token)
    fresh = rotated.reencrypt(old_token, b"aad")
    assert rotated.key_id_of(fresh) == "new"
    assert DataKeys.from_strings([NEW]).decrypt(fresh, b"aad") == b"seed"
    assert rotated.reencrypt(fresh, b"aad") == fresh


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "no data key configured"),
        (["nocolon"], "secrets.data_keys[0]: expected 'key-id:base64(32 bytes)'"),
        (["k:!!!"], "secrets.data_keys[0] ('k'): not valid base64"),
        (["k:" + base64.b64encode(b"short").decode()], "expected 32 bytes, got 5"),
        ([NEW, NEW], "secrets.data_keys[1]: key id 'new' is listed twice"),
        (["bad id:" + base64.b64encode(b"x" * 32).decode()], "key id must match"),
    ],
)
def test_bad_key_settings_are_one_line_each_without_the_key(
    values: list[str], message: str
) -> None:
    with pytest.raises(DataKeyError) as refused:
        DataKeys.from_strings(values)
    assert message in str(refused.value)
    for value in values:
        assert value.partition(":")[2] not in str(refused.value) or not value.partition(":")[2]


def test_repr_shows_ids_only() -> None:
    keys = DataKeys.from_strings([NEW])
    assert repr(keys) == "DataKeys(current='new', ids=['new'])"


def test_generate_data_key() -> None:
    value = generate_data_key("2025-01")
    kid, _, encoded = value.partition(":")
    assert kid == "2025-01"
    assert len(base64.b64decode(encoded)) == 32
    assert DataKeys.from_strings([value]).current_id == "2025-01"
    with pytest.raises(ValueError, match="key id"):
        generate_data_key("has space")


def test_rotate_data_key_re_encrypts_everything_stored(tmp_path: Path) -> None:
    # The CLI's `idp keys rotate-data-key` calls rotate_data_key.
    before = World(tmp_path / "a", secrets={"data_keys": [OLD]})
    user = before.user()
    secret = before.enroll_both(user)
    before.service.begin_enrollment(user, "backup", "voice", {"phone": "03-1234-5678"})
    store = before.store
    count = rotate_data_key(store, DataKeys.from_strings([NEW, OLD]))
    # The lookup key, two credentials and one pending enrollment.
    assert count == 4
    raw = b"".join(store.get(k) or b"" for k in store.scan(""))
    assert b"g1.old." not in raw
    assert rotate_data_key(store, DataKeys.from_strings([NEW, OLD])) == 0  # idempotent
    # The old key can go: everything still works with the new key alone.
    after = World(tmp_path / "b", store=store, secrets={"data_keys": [NEW]})
    try:
        after.advance(before.offset)
        assert after.service.verify(user, "primary", {"code": after.totp_code(secret)})
        assert after.service.pending_enrollment(user, "backup") is not None
        after.service.send_challenge(user, "backup")
        code = after.last_code()
        assert after.service.verify(user, "backup", {"code": code}).amr == ("sms",)
    finally:
        after.close()
        before.delivery.close()
