"""Phone numbers: parsing, normalisation, kinds, masking (BEHAVIOUR E4, E5)."""

from __future__ import annotations

import pytest

from idp.methods import PhoneInvalid, PhoneKind, normalise_region, parse_phone


@pytest.mark.parametrize(
    "typed",
    ["090-1234-5678", "09012345678", "+81 90 1234 5678", "+81-90-1234-5678", "(090) 1234 5678",
     "０９０－１２３４－５６７８", "+819012345678"],
)
def test_every_spelling_of_a_number_normalises_to_e164(typed: str) -> None:
    # covers E4, E5
    phone = parse_phone(typed, "JP")
    assert phone.e164 == "+819012345678"
    assert phone.country_code == 81
    assert phone.region == "JP"
    assert phone.kind is PhoneKind.MOBILE


@pytest.mark.parametrize(
    ("typed", "kind", "sms", "calls"),
    [
        ("090-1234-5678", PhoneKind.MOBILE, True, True),
        ("070-1234-5678", PhoneKind.MOBILE, True, True),
        ("03-1234-5678", PhoneKind.FIXED_LINE, False, True),
        ("050-1234-5678", PhoneKind.VOIP, False, True),  # E5: Japan's IP phones
        ("0120-123-456", PhoneKind.TOLL_FREE, False, False),
        ("0990-123-456", PhoneKind.PREMIUM_RATE, False, False),
        ("020-1234-5678", PhoneKind.PAGER, False, False),
        ("+1 650 253 0000", PhoneKind.FIXED_LINE_OR_MOBILE, True, True),
    ],
)
def test_kinds_decide_what_a_number_can_receive(
    typed: str, kind: PhoneKind, sms: bool, calls: bool
) -> None:
    # covers E5
    phone = parse_phone(typed, "JP")
    assert phone.kind is kind
    assert phone.kind.receives_sms is sms
    assert phone.kind.receives_calls is calls


@pytest.mark.parametrize(
    "typed", ["", "   ", "abc", "12", "+81 90 1234 567", "090-1234-5678-9999-1", "1" * 41,
              "+999 1234 5678"],
)
def test_invalid_numbers_are_refused_without_quoting_them(typed: str) -> None:
    # covers E5
    with pytest.raises(PhoneInvalid) as refused:
        parse_phone(typed, "JP")
    assert refused.value.code == "phone_invalid"
    assert refused.value.field == "phone"
    if typed.strip():
        assert typed not in str(refused.value)
        assert typed not in refused.value.message("ja")


def test_the_default_region_reads_national_numbers() -> None:
    assert parse_phone("020 7946 0018", "GB").e164 == "+442079460018"
    # The same digits read in Japan are another (Japanese) number altogether.
    assert parse_phone("020 7946 0018", "JP").e164.startswith("+81")


def test_masked_form_and_repr_hide_the_middle() -> None:
    phone = parse_phone("090-1234-5678", "JP")
    assert phone.masked == "+81 90-****-5678"
    assert "1234" not in repr(phone)
    assert "+819012345678" not in repr(phone)
    assert parse_phone("03-1234-5678", "JP").masked == "+81 3-1***-5678"


def test_regions_are_normalised_and_checked() -> None:
    assert normalise_region(" jp ") == "JP"
    with pytest.raises(ValueError, match="unknown region"):
        normalise_region("XX")
