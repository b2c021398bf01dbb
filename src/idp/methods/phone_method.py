"""What every phone method shares: its config keys and how it reads a number. Import these
from :mod:`idp.methods`.

SMS and voice used to carry the same ~30 lines each (the two config keys with their
validators, parsing with the region override, the region and line-kind checks, the
credential built from the number, enrollment and import). :class:`PhoneMethod` holds them
once; a phone method sets ``needs_sms`` and writes only its message and its texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypeVar

from pydantic import Field, field_validator

from idp.methods.base import Challenge, Credential, Enrollment, Method, MethodUser, Verified
from idp.methods.errors import (
    EnrollmentInvalid,
    PhoneNotSmsCapable,
    PhoneNotSupported,
    PhoneRegionNotAllowed,
)
from idp.methods.phone import PhoneNumber, normalise_region
from idp.settings import ConfigModel

__all__ = ["PhoneConfig", "PhoneMethod"]


class PhoneConfig(ConfigModel):
    """The config keys of a phone method; subclass it to add your own."""

    # Region for numbers typed without a country code; unset: [enrollment] default_region.
    default_region: str | None = None
    # Only numbers of these regions (ISO 3166-1, e.g. ["JP"]); empty: any. Limits exposure
    # to SMS pumping and call fraud through expensive destinations.
    allowed_regions: list[str] = Field(default_factory=list)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else normalise_region(value)

    @field_validator("allowed_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return [normalise_region(region) for region in value]


PhoneConfigT = TypeVar("PhoneConfigT", bound=PhoneConfig)


class PhoneMethod(Method[PhoneConfigT]):
    """A method that sends a code to a phone number. Set ``info`` (``Channel.PHONE``,
    ``delivers_code=True``, ``enroll_fields=("phone",)``), ``config_class`` (a
    :class:`PhoneConfig`), ``needs_sms``; implement ``send_challenge`` and ``describe``.
    Enrollment (form field ``phone``), import (column ``phone``) and ``verify`` (the core's
    delivered code) are done here."""

    # True: only numbers that receive SMS (a landline or 050 is refused, suggesting a call).
    needs_sms: ClassVar[bool] = False

    def phone(self, raw: str) -> PhoneNumber:
        """Parse ``raw`` with the region override and apply this method's rules: the
        operator's regions, no service numbers, SMS-capable lines if ``needs_sms``."""
        phone = self.ctx.parse_phone(raw, self.config.default_region)
        if self.config.allowed_regions and phone.region not in self.config.allowed_regions:
            raise PhoneRegionNotAllowed(field="phone")
        if not phone.kind.receives_calls:
            raise PhoneNotSupported(field="phone")
        if self.needs_sms and not phone.kind.receives_sms:
            raise PhoneNotSmsCapable(field="phone")
        return phone

    @staticmethod
    def phone_credential(phone: PhoneNumber) -> Credential:
        return Credential(public={"masked": phone.masked}, phone=phone.e164)

    @staticmethod
    def sent_to(credential: Credential) -> Challenge:
        """The ``Challenge`` to return once the code went out: the masked number."""
        return Challenge(sent_to=str(credential.public.get("masked", "")) or None)

    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        phone = self.phone(form.get("phone", ""))
        return Enrollment(credential=self.phone_credential(phone),
                          display={"sent_to": phone.masked})

    def verify(
        self, user: MethodUser, credential: Credential, challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        return self.ctx.check_code(user, credential.id, form.get("code", ""))

    def import_credential(self, user: MethodUser, data: Mapping[str, str]) -> Credential:
        """Column ``phone``: national (read in the default region) or international."""
        try:
            phone = self.phone(data.get("phone", ""))
        except EnrollmentInvalid as exc:
            raise type(exc)(detail=f"phone: {exc.code}", field="phone") from None
        return self.phone_credential(phone)
