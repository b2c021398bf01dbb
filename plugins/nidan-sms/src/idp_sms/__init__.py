"""The ``sms`` second-factor method: a code by text message (BEHAVIOUR S2, S5, E5).

Numbers are parsed and normalised to E.164 with a default region (``[enrollment]
default_region``, JP, unless ``[methods.sms] default_region`` overrides it). Only numbers
that can receive SMS are accepted: a landline or an IP phone (Japan's 050) is refused with a
message suggesting a voice call; premium-rate, toll-free and similar service numbers are
refused outright. The text is in the person's language, names the service, and carries no
link (a link in a code message teaches people to follow links in such messages: phishing).
Codes, tries, expiry, resend limits and budgets are the core's.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    PhoneNotSmsCapable,
    PhoneNotSupported,
    PhoneNumber,
    PhoneRegionNotAllowed,
    Verified,
    normalise_region,
)

__all__ = ["SmsConfig", "SmsMethod", "sms_text"]

_LABELS = {"en": "Text message (SMS)", "ja": "SMS（テキストメッセージ）"}


class SmsConfig(ConfigModel):
    # Region for numbers typed without a country code; unset: [enrollment] default_region.
    default_region: str | None = None
    # Only numbers of these regions (ISO 3166-1, e.g. ["JP"]); empty: any. Limits exposure to
    # SMS pumping through expensive destinations.
    allowed_regions: list[str] = Field(default_factory=list)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else normalise_region(value)

    @field_validator("allowed_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return [normalise_region(region) for region in value]


def sms_text(locale: str, service: str, code: str, minutes: int) -> str:
    """The message: service name, code, lifetime, a warning; no link."""
    if locale == "ja":
        return (
            f"【{service}】確認コード: {code}\n"
            f"有効期限は{minutes}分です。このコードは誰にも教えないでください。"
        )
    return (
        f"{service} verification code: {code}\n"
        f"It expires in {minutes} minutes. Never share this code with anyone."
    )


class SmsMethod(Method[SmsConfig]):
    """A 6-digit code by SMS to a mobile number."""

    info: ClassVar[MethodInfo] = MethodInfo(
        id="sms", amr=("sms",), channel=Channel.PHONE, delivers_code=True,
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
        if not phone.kind.receives_sms:
            raise PhoneNotSmsCapable(field="phone")
        return phone

    def _credential(self, phone: PhoneNumber) -> Credential:
        return Credential(public={"masked": phone.masked}, phone=phone.e164)

    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        phone = self._phone(form.get("phone", ""))
        return Enrollment(credential=self._credential(phone), display={"sent_to": phone.masked})

    def send_challenge(self, user: MethodUser, credential: Credential) -> Challenge:
        if credential.phone is None:
            raise TypeError("an sms credential has a phone number")
        code = self.ctx.issue_code(user, credential.id)
        minutes = max(1, int(self.ctx.code_lifetime_s // 60))
        text = sms_text(self.ctx.locale(user), self.ctx.service_name, code.value, minutes)
        self.ctx.send_sms(user, credential.phone, text)
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
            return f"SMS（{masked}）"
        return f"Text message to {masked}"

    def import_credential(self, user: MethodUser, data: Mapping[str, str]) -> Credential:
        """Column ``phone``: national (read in the default region) or international."""
        try:
            phone = self._phone(data.get("phone", ""))
        except EnrollmentInvalid as exc:
            raise type(exc)(detail=f"phone: {exc.code}", field="phone") from None
        return self._credential(phone)
