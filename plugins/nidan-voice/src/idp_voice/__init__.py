"""The ``voice`` second-factor method: a call that reads the code aloud (BEHAVIOUR S2, L1).

Mobile numbers, landlines and IP phones (Japan's 050) are accepted; premium-rate,
toll-free and similar service numbers are not. The call speaks in the person's language
(Japanese or English), introduces the service, then says the code digit by digit, twice,
each digit its own segment so the gateway pauses between them. Codes, tries, expiry,
resend limits and budgets are the core's.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class VoiceConfig(PhoneConfig):
    """``default_region`` and ``allowed_regions`` (see ``PhoneConfig``)."""


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


class VoiceMethod(PhoneMethod[VoiceConfig]):
    """A 6-digit code read aloud by an automated call."""

    info: ClassVar[MethodInfo] = MethodInfo(
        id="voice", amr=("tel",), channel=Channel.PHONE, delivers_code=True,
        enroll_fields=("phone",),
    )
    config_class = VoiceConfig
    needs_sms = False  # landlines and IP phones take calls

    def label(self, locale: str) -> str:
        return _LABELS.get(locale, _LABELS["en"])

    def send_challenge(self, user: MethodUser, credential: Credential) -> Challenge:
        if credential.phone is None:
            raise TypeError("a voice credential has a phone number")
        code = self.ctx.issue_code(user, credential.id)
        segments: Sequence[str] = voice_segments(
            self.ctx.locale(user), self.ctx.service_name, code.value
        )
        self.ctx.place_call(user, credential.phone, segments)
        return self.sent_to(credential)

    def describe(self, credential: Credential, locale: str) -> str:
        masked = credential.public.get("masked", "")
        if locale == "ja":
            return f"音声通話（{masked}）"
        return f"Voice call to {masked}"
