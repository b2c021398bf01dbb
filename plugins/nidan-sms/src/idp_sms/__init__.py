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

from typing import ClassVar

from idp.methods import (
    Challenge,
    Channel,
    Credential,
    MethodInfo,
    MethodUser,
    PhoneConfig,
    PhoneMethod,
)

__all__ = ["SmsConfig", "SmsMethod", "sms_text"]

_LABELS = {"en": "Text message (SMS)", "ja": "SMS（テキストメッセージ）"}


class SmsConfig(PhoneConfig):
    """``default_region`` and ``allowed_regions`` (see ``PhoneConfig``)."""


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


class SmsMethod(PhoneMethod[SmsConfig]):
    """A 6-digit code by SMS to a mobile number."""

    info: ClassVar[MethodInfo] = MethodInfo(
        id="sms", amr=("sms",), channel=Channel.PHONE, delivers_code=True,
        enroll_fields=("phone",),
    )
    config_class = SmsConfig
    needs_sms = True

    def label(self, locale: str) -> str:
        return _LABELS.get(locale, _LABELS["en"])

    def send_challenge(self, user: MethodUser, credential: Credential) -> Challenge:
        if credential.phone is None:
            raise TypeError("an sms credential has a phone number")
        code = self.ctx.issue_code(user, credential.id)
        minutes = max(1, int(self.ctx.code_lifetime_s // 60))
        text = sms_text(self.ctx.locale(user), self.ctx.service_name, code.value, minutes)
        self.ctx.send_sms(user, credential.phone, text)
        return self.sent_to(credential)

    def describe(self, credential: Credential, locale: str) -> str:
        masked = credential.public.get("masked", "")
        if locale == "ja":
            return f"SMS（{masked}）"
        return f"Text message to {masked}"
