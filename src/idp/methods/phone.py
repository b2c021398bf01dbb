"""Phone numbers: parsed and normalised once, the same way for every method (BEHAVIOUR E4, E5).

``090-1234-5678`` read in region JP and ``+81 90 1234 5678`` are one number, ``+819012345678``
in E.164; comparisons (E4), budgets and gateways all use that form. The kind of number
(mobile, landline, IP phone, premium-rate, ...) comes from libphonenumber's metadata and
decides what a method accepts: SMS needs a mobile, a voice call also reaches landlines and IP
phones, and nobody's own phone is a premium-rate or toll-free number.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from idp.methods.errors import PhoneInvalid

__all__ = ["PhoneKind", "PhoneNumber", "normalise_region", "parse_phone"]

# Longest input we try to parse: anything longer is not a phone number (and bounds the work).
MAX_INPUT_CHARS = 40


class PhoneKind(enum.Enum):
    """What sort of line a number is, from libphonenumber's numbering-plan metadata."""

    MOBILE = "mobile"
    FIXED_LINE = "fixed_line"
    # Some plans (US, CA) do not tell mobiles from landlines by number.
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    VOIP = "voip"  # Japan's 050 IP phones among others
    PERSONAL = "personal"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"

    @property
    def receives_sms(self) -> bool:
        """Can this kind of line receive SMS? (Numbers that may be mobiles count.)"""
        return self in (PhoneKind.MOBILE, PhoneKind.FIXED_LINE_OR_MOBILE)

    @property
    def receives_calls(self) -> bool:
        """Is this a line a person answers? Premium-rate, toll-free, shared-cost, pagers,
        UAN and voicemail numbers are services, not someone's phone."""
        return self in (
            PhoneKind.MOBILE,
            PhoneKind.FIXED_LINE,
            PhoneKind.FIXED_LINE_OR_MOBILE,
            PhoneKind.VOIP,
            PhoneKind.PERSONAL,
        )


_KINDS = {
    PhoneNumberType.MOBILE: PhoneKind.MOBILE,
    PhoneNumberType.FIXED_LINE: PhoneKind.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: PhoneKind.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP: PhoneKind.VOIP,
    PhoneNumberType.PERSONAL_NUMBER: PhoneKind.PERSONAL,
    PhoneNumberType.TOLL_FREE: PhoneKind.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE: PhoneKind.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST: PhoneKind.SHARED_COST,
    PhoneNumberType.PAGER: PhoneKind.PAGER,
    PhoneNumberType.UAN: PhoneKind.UAN,
    PhoneNumberType.VOICEMAIL: PhoneKind.VOICEMAIL,
}


@dataclass(frozen=True)
class PhoneNumber:
    """A valid, normalised number. ``repr`` shows only the masked form: numbers are personal
    data and are encrypted at rest (DESIGN "The Store")."""

    e164: str = field(repr=False)  # "+819012345678"
    country_code: int  # 81
    region: str | None  # "JP"; None for non-geographic numbers
    kind: PhoneKind
    international: str = field(repr=False)  # "+81 90-1234-5678", for the person's own eyes

    @property
    def masked(self) -> str:
        """``+81 90-****-5678``: the person recognises it, nobody else can call it."""
        head = f"+{self.country_code}"
        rest = self.international[len(head) :]
        digits_seen = sum(ch.isdigit() for ch in rest)
        keep_tail, out, index = 4, [], 0
        for ch in rest:
            if ch.isdigit():
                index += 1
                # Keep the first two digits after the country code and the last four.
                out.append(ch if index <= 2 or index > digits_seen - keep_tail else "*")
            else:
                out.append(ch)
        return head + "".join(out)


def normalise_region(region: str) -> str:
    """``"jp"`` -> ``"JP"``; :class:`ValueError` for a code libphonenumber does not know.
    Usable in a plugin's config validator."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {region!r}: expected an ISO 3166-1 code such as JP")
    return code


def parse_phone(raw: str, default_region: str) -> PhoneNumber:
    """Parse what a person typed (national or international, with spaces, hyphens,
    brackets, full-width digits) into a valid :class:`PhoneNumber`.

    Raises :class:`PhoneInvalid` (``field="phone"``) for anything that is not a valid
    number; the message never quotes the input.
    """
    # Full-width digits and punctuation come from Japanese input methods.
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text or len(text) > MAX_INPUT_CHARS:
        raise PhoneInvalid(field="phone")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except NumberParseException:
        raise PhoneInvalid(field="phone") from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneInvalid(field="phone")
    kind = _KINDS.get(phonenumbers.number_type(parsed), PhoneKind.UNKNOWN)
    return PhoneNumber(
        e164=phonenumbers.format_number(parsed, PhoneNumberFormat.E164),
        country_code=int(parsed.country_code or 0),
        region=phonenumbers.region_code_for_number(parsed),
        kind=kind,
        international=phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL),
    )
