"""The totp plugin: RFC 6238 vectors, the window, replay, setup display (S5, E6)."""

from __future__ import annotations

import base64
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from idp.methods import Credential, MethodUser, WrongCode
from idp.methods.testing import ContractHarness
from idp_totp import TotpMethod, group_secret, totp_at

# RFC 6238 Appendix B: the seeds are ASCII "1234567890" repeated to the hash's length.
SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# Appendix B table: (time, expected TOTP, mode); 8 digits, 30-second steps, T0 = 0.
RFC6238_VECTORS = [
    (59, "94287082", "SHA1"),
    (59, "46119246", "SHA256"),
    (59, "90693936", "SHA512"),
    (1111111109, "07081804", "SHA1"),
    (1111111109, "68084774", "SHA256"),
    (1111111109, "25091201", "SHA512"),
    (1111111111, "14050471", "SHA1"),
    (1111111111, "67062674", "SHA256"),
    (1111111111, "99943326", "SHA512"),
    (1234567890, "89005924", "SHA1"),
    (1234567890, "91819424", "SHA256"),
    (1234567890, "93441116", "SHA512"),
    (2000000000, "69279037", "SHA1"),
    (2000000000, "90698825", "SHA256"),
    (2000000000, "38618901", "SHA512"),
    (20000000000, "65353130", "SHA1"),
    (20000000000, "77737706", "SHA256"),
    (20000000000, "47863826", "SHA512"),
]


@pytest.mark.parametrize(("when", "expected", "mode"), RFC6238_VECTORS)
def test_rfc6238_appendix_b(when: int, expected: str, mode: str) -> None:
    assert totp_at(SEEDS[mode], when, algorithm=mode, digits=8, period=30) == expected


@pytest.mark.parametrize(("when", "expected", "mode"), RFC6238_VECTORS)
def test_rfc6238_vectors_through_the_core(
    tmp_path: Path, when: int, expected: str, mode: str
) -> None:
    # The plugin's verify, driven by the core, accepts each vector at its time, once.
    config = {"algorithm": mode, "digits": 8}
    with closing(ContractHarness(tmp_path, TotpMethod, config)) as harness:
        secret = base64.b32encode(SEEDS[mode]).decode()
        harness.service.import_credential(harness.user, "totp", "primary", {
            "secret": secret, "algorithm": mode, "digits": "8", "period": "30",
        })
        harness.offset = when - time.time()
        result = harness.service.verify(harness.user, "primary", {"code": expected})
        assert result.amr == ("otp",)
        with pytest.raises(WrongCode):
            harness.service.verify(harness.user, "primary", {"code": expected})


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ContractHarness]:
    with closing(ContractHarness(tmp_path, TotpMethod, {})) as built:
        yield built


def enroll(h: ContractHarness, user: MethodUser | None = None) -> tuple[str, dict[str, str]]:
    user = user or h.user
    pending = h.service.begin_enrollment(user, "primary", "totp", {})
    display = dict(pending.display)
    uri = urllib.parse.urlsplit(display["otpauth_uri"])
    secret = urllib.parse.parse_qs(uri.query)["secret"][0]
    h.service.complete_enrollment(user, "primary", {"code": code(secret, h.now())})
    return secret, display


def code(secret: str, when: float, **params: Any) -> str:
    return totp_at(base64.b32decode(secret + "=" * (-len(secret) % 8)), when, **params)


def test_setup_display(harness: ContractHarness) -> None:
    # covers E6
    user = MethodUser(id="u7", email="seller@example.jp", locale="ja")
    secret, display = enroll(harness, user)
    uri = urllib.parse.urlsplit(display["otpauth_uri"])
    query = urllib.parse.parse_qs(uri.query)
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert urllib.parse.unquote(uri.path) == "/Nidan:seller@example.jp"
    assert query["issuer"] == ["Nidan"]
    # SHA-1, 6 digits, 30 s are the defaults every app assumes; pyotp omits them.
    assert not {"algorithm", "digits", "period"} & set(query)
    assert display["secret_grouped"] == group_secret(secret)
    assert display["issuer"] == "Nidan"
    assert display["account"] == "seller@example.jp"
    svg = display["qr_svg"]
    assert svg.startswith("<svg")
    assert "<title>Nidan</title>" in svg


def test_group_secret() -> None:
    assert group_secret("JBSWY3DPEHPK3PXP") == "JBSW Y3DP EHPK 3PXP"
    assert group_secret("ABCDEF==") == "ABCD EF"


def test_configured_algorithm_and_digits_reach_the_uri(tmp_path: Path) -> None:
    harness = ContractHarness(tmp_path, TotpMethod,
                              {"algorithm": "SHA256", "digits": 8, "period": 60,
                               "issuer": "Seller Tools"})
    try:
        pending = harness.service.begin_enrollment(harness.user, "primary", "totp", {})
        query = urllib.parse.parse_qs(
            urllib.parse.urlsplit(pending.display["otpauth_uri"]).query
        )
        assert query["algorithm"] == ["SHA256"]
        assert query["digits"] == ["8"]
        assert query["period"] == ["60"]
        assert query["issuer"] == ["Seller Tools"]
        secret = query["secret"][0]
        assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 32
        right = code(secret, harness.now(), algorithm="SHA256", digits=8, period=60)
        harness.service.complete_enrollment(harness.user, "primary", {"code": right})
    finally:
        harness.close()


def test_window_and_replay(harness: ContractHarness) -> None:
    # covers S5: current step and one either side, never twice
    secret, _ = enroll(harness)
    harness.advance(300)
    now = harness.now()
    for offset in (-30, 0, 30):
        assert harness.service.verify(harness.user, "primary", {"code": code(secret, now + offset)})
        with pytest.raises(WrongCode):
            harness.service.verify(harness.user, "primary", {"code": code(secret, now + offset)})
    harness.advance(300)
    now = harness.now()
    for offset in (-60, 60):
        with pytest.raises(WrongCode):
            harness.service.verify(harness.user, "primary", {"code": code(secret, now + offset)})


def test_the_enrollment_code_cannot_sign_in(harness: ContractHarness) -> None:
    # covers S5: a code accepted at setup is spent
    pending = harness.service.begin_enrollment(harness.user, "primary", "totp", {})
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(pending.display["otpauth_uri"]).query)
    right = code(query["secret"][0], harness.now())
    harness.service.complete_enrollment(harness.user, "primary", {"code": right})
    with pytest.raises(WrongCode):
        harness.service.verify(harness.user, "primary", {"code": right})


def test_full_width_digits_are_accepted(harness: ContractHarness) -> None:
    secret, _ = enroll(harness)
    harness.advance(120)
    typed = "".join(chr(ord("０") + int(d)) for d in code(secret, harness.now()))
    assert harness.service.verify(harness.user, "primary", {"code": typed})


def test_describe_and_label(harness: ContractHarness) -> None:
    method = harness.method
    credential = Credential(public={"issuer": "Nidan"})
    assert method.describe(credential, "en") == "Authenticator app (Nidan)"
    assert method.describe(credential, "ja") == "認証アプリ (Nidan)"
    assert method.label("ja") == "認証アプリ"


def test_imported_parameters_are_kept_per_credential(harness: ContractHarness) -> None:
    # A credential keeps its own algorithm: later config changes do not break it.
    secret = base64.b32encode(SEEDS["SHA512"]).decode()
    harness.service.import_credential(harness.user, "totp", "primary",
                                      {"secret": secret, "algorithm": "sha-512"})
    stored = harness.credential()
    assert not isinstance(stored.secret, bytes)
    assert stored.secret["algorithm"] == "SHA512"
    right = code(secret, harness.now(), algorithm="SHA512")
    assert harness.service.verify(harness.user, "primary", {"code": right})
