"""The sms plugin: which numbers, and what the text says (S2, E5, L1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from idp.methods import (
    Credential,
    MethodUser,
    PhoneInvalid,
    PhoneNotSmsCapable,
    PhoneNotSupported,
    PhoneRegionNotAllowed,
)
from idp.methods.testing import ContractHarness
from idp_sms import SmsMethod, sms_text


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ContractHarness]:
    with closing(ContractHarness(tmp_path, SmsMethod, {})) as built:
        yield built


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_the_text_names_the_service_carries_the_code_and_no_link(
    harness: ContractHarness, locale: str
) -> None:
    # covers L1, E5
    user = MethodUser(id="u1", email="a@example.com", locale=locale)
    harness.service.begin_enrollment(user, "primary", "sms", {"phone": "090-1234-5678"})
    message = harness.outbox()[0]
    assert message["channel"] == "sms"
    assert message["to"] == "+819012345678"
    assert message["locale"] == locale
    text = message["text"]
    assert "Nidan" in text
    assert harness.last_code() in text
    assert re.search(r"https?:|www\.|://|\.(com|jp|net)\b", text) is None
    assert ("10分" if locale == "ja" else "10 minutes") in text


def test_sms_text_in_each_language() -> None:
    assert sms_text("ja", "Nidan", "012345", 10).startswith("【Nidan】確認コード: 012345")
    assert sms_text("en", "Nidan", "012345", 10).startswith("Nidan verification code: 012345")
    assert sms_text("fr", "Nidan", "012345", 10).startswith("Nidan verification code")


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("03-1234-5678", PhoneNotSmsCapable),
        ("050-1234-5678", PhoneNotSmsCapable),
        ("0990-123-456", PhoneNotSupported),
        ("0120-123-456", PhoneNotSupported),
        ("090-1234", PhoneInvalid),
        ("", PhoneInvalid),
    ],
)
def test_numbers_that_cannot_receive_sms(
    harness: ContractHarness, typed: str, error: type[Exception]
) -> None:
    # covers E5
    with pytest.raises(error):
        harness.service.begin_enrollment(harness.user, "primary", "sms", {"phone": typed})
    assert harness.outbox() == []


def test_the_refusal_suggests_a_voice_call(harness: ContractHarness) -> None:
    # covers E5
    with pytest.raises(PhoneNotSmsCapable) as refused:
        harness.service.begin_enrollment(harness.user, "primary", "sms",
                                         {"phone": "050-1234-5678"})
    assert "voice call" in refused.value.message("en")
    assert "音声通話" in refused.value.message("ja")


def test_allowed_regions_and_default_region(tmp_path: Path) -> None:
    harness = ContractHarness(tmp_path, SmsMethod,
                              {"default_region": "gb", "allowed_regions": ["gb"]})
    try:
        harness.service.begin_enrollment(harness.user, "primary", "sms",
                                         {"phone": "07400 123456"})
        assert harness.outbox()[0]["to"] == "+447400123456"
        with pytest.raises(PhoneRegionNotAllowed):
            harness.service.begin_enrollment(harness.user, "backup", "sms",
                                             {"phone": "+81 90 1234 5678"})
    finally:
        harness.close()


def test_describe(harness: ContractHarness) -> None:
    credential = Credential(public={"masked": "+81 90-****-5678"})
    assert harness.method.describe(credential, "en") == "Text message to +81 90-****-5678"
    assert harness.method.describe(credential, "ja") == "SMS（+81 90-****-5678）"
