"""The people of the journeys and what they carry: an account, an authenticator app, phones
that receive SMS and calls (the outbox), all made through the real services.

Nothing here touches a browser; :mod:`tests.browser.pages` does. Every helper writes or reads
through the same ``Services`` (or outbox file) as the live server, so what a test sets up is
what the server sees, and what the server stored is what a test can assert on.

Isolation: one server serves a whole run, so every person gets a unique e-mail address and
every phone a unique number (budgets and cooldowns are per user and per number).
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import pyotp

from idp.delivery.outbox import read_outbox
from idp.methods.codes import CODE_DIGITS
from idp.methods.core import CredentialView
from idp.methods.credentials import Role
from idp.methods.phone import PhoneKind, parse_phone
from idp.methods.service import ImportRow
from idp.services import Services
from idp.users import User, method_user
from idp.web.i18n import SUPPORTED_LOCALES, LocaleCode
from idp_voice import voice_segments

__all__ = [
    "Authenticator",
    "Outbox",
    "OutboxMessage",
    "Phone",
    "PhoneBook",
    "PhoneMethod",
    "Seller",
    "code_in_sms",
    "code_in_voice_call",
    "create_user",
    "import_methods",
    "sms",
    "totp_now",
    "voice",
]

# Numbers typed without a country code are Japanese ([enrollment] default_region).
_REGION: Final = "JP"
# 160 bits: what the TOTP plugin itself makes for SHA-1 (RFC 4226 4, R6).
_TOTP_SECRET_BYTES: Final = 20
_SIX_DIGITS: Final = re.compile(rf"(?<!\d)\d{{{CODE_DIGITS}}}(?!\d)")


# -- people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seller:
    """A person with an account: the stored ``user`` and the password they type."""

    user: User
    password: str = field(repr=False)

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email


def create_user(
    services: Services,
    *,
    locale: LocaleCode = "ja",
    email: str | None = None,
    password: str | None = None,
    display_name: str = "Test Seller",
) -> Seller:
    """A new active account (``services.accounts.create``) with a unique address and a
    random password unless given. No second factor yet: see :func:`import_methods`, or let
    the journey enroll through the pages."""
    email = email or f"seller-{secrets.token_hex(6)}@example.com"
    password = password or f"pw-{secrets.token_urlsafe(12)}"
    user = services.accounts.create(
        email, display_name=display_name, locale=locale, password=password, actor="browser-test"
    )
    return Seller(user=user, password=password)


# -- authenticator app ----------------------------------------------------------------------


def totp_now(secret: str) -> str:
    """The code an authenticator app shows right now for ``secret`` (base32; spaces, case
    and padding ignored), 6 digits, 30-second steps, SHA-1 (the plugin's defaults)."""
    return pyotp.TOTP(_bare_secret(secret)).now()


def _bare_secret(secret: str) -> str:
    return "".join(secret.split()).replace("-", "").upper().rstrip("=")


class Authenticator:
    """A person's authenticator app for one TOTP secret.

    The server accepts each time step once (replay protection) and a window of +-
    ``window`` steps. :meth:`fresh_code` therefore hands out the current step's code, then
    the next step's (accepted early by the window), and only when both are used waits for
    the clock to reach the next step: never a step the server may already have refused.
    """

    def __init__(self, secret: str, *, period: int = 30, window: int = 1) -> None:
        self.secret = _bare_secret(secret)
        self.period = period
        self.window = window
        self._totp = pyotp.TOTP(self.secret, interval=period)
        self._used: set[int] = set()

    def __repr__(self) -> str:  # the secret stays out of test reports
        return f"Authenticator(period={self.period}, used={sorted(self._used)})"

    @classmethod
    def new(cls) -> Authenticator:
        """An app holding a new random secret (for :func:`import_methods`)."""
        raw = base64.b32encode(secrets.token_bytes(_TOTP_SECRET_BYTES)).decode("ascii")
        return cls(raw)

    @classmethod
    def from_page(cls, shown: str) -> Authenticator:
        """The app after typing the secret an enrollment page shows (``ABCD EFGH ...``)."""
        return cls(shown)

    def code_at(self, step: int) -> str:
        return self._totp.generate_otp(step)

    def current_code(self) -> str:
        """What the app shows now (may already have been used: see :meth:`fresh_code`)."""
        return self._totp.now()

    def fresh_code(self) -> str:
        """A code the server has not seen yet, marked as used."""
        while True:
            now_step = int(time.time()) // self.period
            # The step after the window is never accepted; earlier steps may expire mid-flight.
            for step in range(now_step, now_step + self.window + 1):
                if step not in self._used:
                    self._used.add(step)
                    return self.code_at(step)
            # Every safe step is used: the next one opens at a known instant (no guessing).
            time.sleep(max(0.0, (now_step + 1) * self.period - time.time()) + 0.01)

    def import_row(self, role: Role) -> ImportRow:
        return ("totp", role, {"secret": self.secret, "period": str(self.period)})


# -- phones ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    """A phone number as a person in Japan writes it (``national``: ``090-1000-0001``) and
    as the server stores and delivers to it (``e164``: ``+819010000001``)."""

    national: str
    e164: str
    kind: PhoneKind

    @property
    def international(self) -> str:
        """The same number spelt another way: ``+81 90 1000 0001`` (E4: one number)."""
        digits = self.national.lstrip("0").replace("-", " ")
        return f"+81 {digits}"

    @property
    def masked(self) -> str:
        """The number as pages show it to its owner: ``+81 90-****-0001`` (the first two
        digits after the country code and the last four)."""
        return parse_phone(self.national, _REGION).masked


class PhoneBook:
    """Unique Japanese numbers for one run: each call gives a number nobody else used.

    ``mobile()`` receives SMS and calls; ``ip_phone()`` is an 050 number (calls only,
    refused for SMS: E5); ``landline()`` a Tokyo 03 number (calls only).
    """

    def __init__(self) -> None:
        self._serial: Iterator[int] = itertools.count(1)

    def _make(self, pattern: str, kind: PhoneKind) -> Phone:
        serial = next(self._serial)
        national = pattern.format(serial // 10_000 + 1000, serial % 10_000)
        parsed = parse_phone(national, _REGION)
        if parsed.kind is not kind:  # the numbering plan changed: pick other prefixes
            raise AssertionError(f"{national} is a {parsed.kind.value} number, not {kind.value}")
        return Phone(national=national, e164=parsed.e164, kind=kind)

    def mobile(self) -> Phone:
        return self._make("090-{:04d}-{:04d}", PhoneKind.MOBILE)

    def ip_phone(self) -> Phone:
        return self._make("050-{:04d}-{:04d}", PhoneKind.VOIP)

    def landline(self) -> Phone:
        return self._make("03-{:04d}-{:04d}", PhoneKind.FIXED_LINE)


# -- second factors, set up without the pages ------------------------------------------------


@dataclass(frozen=True)
class PhoneMethod:
    """An SMS or voice method on ``phone`` (see :func:`sms`, :func:`voice`)."""

    method: Literal["sms", "voice"]
    phone: Phone

    def import_row(self, role: Role) -> ImportRow:
        return (self.method, role, {"phone": self.phone.national})


def sms(phone: Phone) -> PhoneMethod:
    return PhoneMethod("sms", phone)


def voice(phone: Phone) -> PhoneMethod:
    return PhoneMethod("voice", phone)


MethodSpec = Authenticator | PhoneMethod


def import_methods(
    services: Services,
    seller: Seller,
    *,
    primary: MethodSpec,
    backup: MethodSpec | None = None,
) -> dict[Role, CredentialView]:
    """Give ``seller`` second factors as an import would (no code proof, no recovery
    codes): ``services.methods.import_credentials(method_user(user), rows)``. The enrollment
    rules (E3-E5) apply: a refused pair raises the ``MethodError`` a page would show."""
    rows = [primary.import_row("primary")]
    if backup is not None:
        rows.append(backup.import_row("backup"))
    views = services.methods.import_credentials(method_user(seller.user), rows)
    return {view.role: view for view in views}


# -- the outbox: what the phones received ---------------------------------------------------


def _digit_words(locale: str) -> Mapping[str, str]:
    """Spoken word -> digit, read off the voice plugin's own script (so a reworded call
    cannot silently break the tests): the segments of a call with digit d that a call
    without digits lacks."""
    frame = set(voice_segments(locale, "S", ""))
    words: dict[str, str] = {}
    for digit in "0123456789":
        (word,) = {s for s in voice_segments(locale, "S", digit) if s not in frame}
        words[word] = digit
    return words


_VOICE_DIGITS: Final[Mapping[str, Mapping[str, str]]] = {
    code: _digit_words(code) for code in SUPPORTED_LOCALES
}


def code_in_sms(text: str) -> str:
    """The one 6-digit code in an SMS text (AssertionError if there are none or several)."""
    found = _SIX_DIGITS.findall(text)
    if len(found) != 1:
        raise AssertionError(
            f"expected one {CODE_DIGITS}-digit code in the SMS, found {len(found)}"
        )
    return str(found[0])


def code_in_voice_call(segments: tuple[str, ...], locale: str) -> str:
    """The code a voice call reads out: its digit words, in order, said once or more; every
    repetition must agree."""
    words = _VOICE_DIGITS["ja" if locale == "ja" else "en"]
    digits = "".join(words[s] for s in segments if s in words)
    if not digits or len(digits) % CODE_DIGITS:
        raise AssertionError(f"the call reads {len(digits)} digits, not {CODE_DIGITS} each time")
    readings = {digits[i : i + CODE_DIGITS] for i in range(0, len(digits), CODE_DIGITS)}
    if len(readings) != 1:
        raise AssertionError("the call reads different codes")
    return readings.pop()


@dataclass(frozen=True)
class OutboxMessage:
    """One SMS (``text``) or voice call (``segments``) as the outbox transport wrote it."""

    id: str
    at: float
    channel: Literal["sms", "voice"]
    to: str  # E.164
    locale: str
    text: str | None = field(default=None, repr=False)
    segments: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> OutboxMessage:
        return cls(
            id=str(record["id"]),
            at=float(record["at"]),
            channel=record["channel"],
            to=str(record["to"]),
            locale=str(record.get("locale") or ""),
            text=record.get("text"),
            segments=tuple(record.get("segments") or ()),
        )

    @property
    def code(self) -> str:
        if self.channel == "sms":
            return code_in_sms(self.text or "")
        return code_in_voice_call(self.segments, self.locale)


class Outbox:
    """The phones' inbox: the server's outbox file (``idp.delivery.outbox.read_outbox``).

    Codes are sent before the server answers the request that asked for them, so once the
    page after "send" has loaded, the message is here: no waiting.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def messages(self, to: Phone | str | None = None) -> list[OutboxMessage]:
        """Messages, newest first, optionally only those to ``to`` (any spelling)."""
        number = None if to is None else _e164(to)
        return [OutboxMessage.from_record(r) for r in read_outbox(self.path, to=number)]

    def latest(
        self,
        to: Phone | str,
        *,
        channel: Literal["sms", "voice"] | None = None,
        newer_than: OutboxMessage | None = None,
    ) -> OutboxMessage:
        """The newest message to ``to`` (on ``channel``); with ``newer_than``, it must be a
        later one (a resend really sent something). AssertionError if there is none."""
        for message in self.messages(to):
            if newer_than is not None and message.id == newer_than.id:
                break
            if channel is None or message.channel == channel:
                return message
        wanted = f"{channel or 'sms or voice'} message"
        raise AssertionError(f"no {'new ' if newer_than else ''}{wanted} to {_e164(to)}")

    def latest_code(
        self,
        to: Phone | str,
        *,
        channel: Literal["sms", "voice"] | None = None,
        newer_than: OutboxMessage | None = None,
    ) -> str:
        """The 6 digits of :meth:`latest` (SMS text or voice segments)."""
        return self.latest(to, channel=channel, newer_than=newer_than).code


def _e164(number: Phone | str) -> str:
    if isinstance(number, Phone):
        return number.e164
    return parse_phone(number, _REGION).e164
