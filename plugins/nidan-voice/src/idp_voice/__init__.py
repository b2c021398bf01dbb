"""The ``voice`` second-factor method: a call that reads the code aloud (BEHAVIOUR S2, L1).

Mobile numbers, landlines and IP phones (Japan's 050) are accepted; premium-rate,
toll-free and similar service numbers are not. The call speaks in the person's language
(Japanese or English), introduces the service, then says the code digit by digit, twice,
each digit its own segment so the gateway pauses between them. Codes, tries, expiry,
resend limits and budgets are the core's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from pydantic import Field, field_validator

from idp.methods import (
    Challenge,
    Channel,
    ConfigModel,
    Credential,
    Enrollment,
    EnrollmentInvalid,
    Method,
    MethodInfo,
    MethodUser,
    PhoneNotSupported,
    PhoneNumber,
    PhoneRegionNotAllowed,
    Verified,
    normalise_region,
)

__all__ = ["VoiceConfig", "VoiceMethod", "voice_segments"]

# BEHAVIOUR L1: "each digit separately, twice".
REPEATS = 2
# Digits as words: text-to-speech engines read "4" or "7" ambiguously in Japanese (し/よん,
# しち/なな); phone codes are read よん and なな to avoid mishearing.
_DIGITS = {
    "ja": ("ゼロ", "いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
}
_LABELS = {"en": "Voice call", "ja": "音声通話"}


class VoiceConfig(ConfigModel):
    # Region for numbers typed without a country code; unset: [enrollment] default_region.
    default_region: str | None = None
    # Only numbers of these regions (ISO 3166-1, e.g. ["JP"]); empty: any.
    allowed_regions: list[str] = Field(default_factory=list)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else normalise_region(value)

    @field_validator("allowed_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return [normalise_region(region) for region in value]


def voice_segments(locale: str, service: str, code: str) -> tuple[str, ...]:
    """What the call says, in order: an introduction, the digits, again, a goodbye."""
    lang = "ja" if locale == "ja" else "en"
    digits = tuple(_DIGITS[lang][int(d)] for d in code)
    if lang == "ja":
        intro = (f"{service}からのお電話です。", "確認コードを申し上げます。")
        again, bye = "もう一度申し上げます。", "以上です。"
    else:
        intro = (f"This is {service}.", "Your verification code is:")
        again, bye = "Again, your code is:", "Goodbye."
    spoken: list[str] = [*intro]
    for index in range(REPEATS):
        if index:
            spoken.append(again)
        spoken.extend(digits)
    spoken.append(bye)
    return tuple(spoken)


class VoiceMethod(Method[VoiceConfig]):
    """A 6-digit code read aloud by an automated call."""

    info: ClassVar[MethodInfo] = MethodInfo(
        id="voice", amr=("tel",), channel=Channel.PHONE, delivers_code=True,
        enroll_fields=("phone",),
    )

    def label(self, locale: str) -> str:
        return _LABELS.get(locale, _LABELS["en"])

    def _phone(self, raw: str) -> PhoneNumber:
        phone = self.ctx.parse_phone(raw, self.config.default_region)
        if self.config.allowed_regions and phone.region not in self.config.allowed_regions:
            raise PhoneRegionNotAllowed(field="phone")
        if not phone.kind.receives_calls:
            raise PhoneNotSupported(field="phone")
        return phone

    def _credential(self, phone: PhoneNumber) -> Credential:
        return Credential(public={"masked": phone.masked}, phone=phone.e164)

    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        phone = self._phone(form.get("phone", ""))
        return Enrollment(credential=self._credential(phone), display={"sent_to": phone.masked})

    def send_challenge(self, user: MethodUser, credential: Credential) -> Challenge:
        if credential.phone is None:
            raise TypeError("a voice credential has a phone number")
        code = self.ctx.issue_code(user, credential.id)
        segments: Sequence[str] = voice_segments(
            self.ctx.locale(user), self.ctx.service_name, code.value
        )
        self.ctx.place_call(user, credential.phone, segments)
        return Challenge(sent_to=str(credential.public.get("masked", "")) or None)

    def verify(
        self,
        user: MethodUser,
        credential: Credential,
        challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        return self.ctx.check_code(user, credential.id, form.get("code", ""))

    def describe(self, credential: Credential, locale: str) -> str:
        masked = credential.public.get("masked", "")
        if locale == "ja":
            return f"音声通話（{masked}）"
        return f"Voice call to {masked}"

    def import_credential(self, user: MethodUser, data: Mapping[str, str]) -> Credential:
        """Column ``phone``: national (read in the default region) or international."""
        try:
            phone = self._phone(data.get("phone", ""))
        except EnrollmentInvalid as exc:
            raise type(exc)(detail=f"phone: {exc.code}", field="phone") from None
        return self._credential(phone)
