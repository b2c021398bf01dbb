"""What a message costs: its country calling code and its billable units.

Both go on the ``delivery.sent`` / ``delivery.failed`` audit events, and from there to the
delivery metrics (SMS pumping shows up as sends to unusual calling codes). The calling code
is not personal data: the masked number in the same event already shows it.
"""

from __future__ import annotations

from functools import cache

import phonenumbers

__all__ = ["calling_code", "sms_segments"]

# GSM 03.38 basic character set and its extension table (an extension character takes two
# septets). Anything else makes the whole message UCS-2 (Japanese texts always are).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@cache
def _codes() -> frozenset[str]:
    return frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def calling_code(number: str) -> str:
    """``+819012345678`` -> ``"81"``; ``"other"`` when no assigned code starts it. Calling
    codes are prefix-free (ITU-T E.164), so the first match is the one."""
    digits = number.removeprefix("+")
    for length in (1, 2, 3):
        if digits[:length] in _codes():
            return digits[:length]
    return "other"


def sms_segments(text: str) -> int:
    """How many SMS parts ``text`` is sent as: 160/153 septets in GSM-7, 70/67 UTF-16 units
    in UCS-2 (the second figure per part of a concatenated message)."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        septets = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)
