"""The voice plugin: which numbers, and what the call says (S2, L1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from idp.methods import Credential, MethodUser, PhoneNotSupported, PhoneRegionNotAllowed
from idp.methods.testing import ContractHarness
from idp_voice import VoiceMethod, voice_segments

JA_DIGITS = ("ゼロ", "いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう")
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ContractHarness]:
    with closing(ContractHarness(tmp_path, VoiceMethod, {})) as built:
        yield built


@pytest.mark.parametrize(("locale", "words"), [("ja", JA_DIGITS), ("en", EN_DIGITS)])
def test_the_call_says_each_digit_twice_in_the_persons_language(
    harness: ContractHarness, locale: str, words: tuple[str, ...]
) -> None:
    # covers L1
    user = MethodUser(id="u1", email="a@example.com", locale=locale)
    harness.service.begin_enrollment(user, "primary", "voice", {"phone": "03-1234-5678"})
    call = harness.outbox()[0]
    assert call["channel"] == "voice"
    assert call["to"] == "+81312345678"
    assert call["locale"] == locale
    code = harness.last_code()
    spoken_digits = [s for s in call["segments"] if s in words]
    assert spoken_digits == [words[int(d)] for d in code] * 2
    assert "Nidan" in call["segments"][0]
    assert code not in "".join(call["segments"])  # digits as words, one segment each


def test_segments_in_each_language() -> None:
    assert voice_segments("ja", "Nidan", "09") == (
        "Nidanからのお電話です。", "確認コードを申し上げます。", "ゼロ", "きゅう",
        "もう一度申し上げます。", "ゼロ", "きゅう", "以上です。",
    )
    assert voice_segments("en", "Nidan", "47") == (
        "This is Nidan.", "Your verification code is:", "four", "seven",
        "Again, your code is:", "four", "seven", "Goodbye.",
    )


@pytest.mark.parametrize("typed", ["090-1234-5678", "03-1234-5678", "050-1234-5678"])
def test_mobiles_landlines_and_ip_phones_are_accepted(
    harness: ContractHarness, typed: str
) -> None:
    # covers S2 (mobile or landline), E5 (050 numbers are offered a voice call)
    harness.service.begin_enrollment(harness.user, "primary", "voice", {"phone": typed})
    harness.service.complete_enrollment(harness.user, "primary", {"code": harness.last_code()})


@pytest.mark.parametrize("typed", ["0120-123-456", "0990-123-456", "0570-000-000"])
def test_service_numbers_are_refused(harness: ContractHarness, typed: str) -> None:
    with pytest.raises(PhoneNotSupported):
        harness.service.begin_enrollment(harness.user, "primary", "voice", {"phone": typed})


def test_allowed_regions(tmp_path: Path) -> None:
    with (
        closing(ContractHarness(tmp_path, VoiceMethod, {"allowed_regions": ["JP"]})) as harness,
        pytest.raises(PhoneRegionNotAllowed),
    ):
        harness.service.begin_enrollment(harness.user, "primary", "voice",
                                         {"phone": "+44 20 7946 0018"})


def test_describe(harness: ContractHarness) -> None:
    credential = Credential(public={"masked": "+81 3-1***-5678"})
    assert harness.method.describe(credential, "en") == "Voice call to +81 3-1***-5678"
    assert harness.method.describe(credential, "ja") == "音声通話（+81 3-1***-5678）"
