"""SMS, voice and email delivery: the transport contract.

A *transport* sends an SMS, places a voice call or hands over an email through one gateway
(Twilio, AWS SNS, an operator's webhook, an SMTP relay, or a development outbox file).
Transports are classes found through the ``idp.transports`` entry-point group; the operator
configures named *instances* of them and lists, per channel, which instances to try in order
(see :mod:`idp.delivery.registry`).

Writing a transport (a plugin may do this; it imports only ``idp.delivery``)::

    class CarrierConfig(ConfigModel):
        url: str
        api_key: SecretStr

    class CarrierTransport(Transport[CarrierConfig]):
        type_name = "carrier"              # MUST equal the entry-point name
        config_class = CarrierConfig
        capabilities = frozenset({Capability.SMS})

        def send_sms(self, msg: SmsMessage) -> Receipt:
            ...                            # raise TransportError on any failure
            return Receipt(transport=self.instance, provider_id="abc123")

A transport MUST raise :class:`TransportError` for every failure and MUST NOT put the message
text, the full phone number or a credential into an exception message or a log record: texts
carry one-time codes.
"""

from __future__ import annotations

import enum
import re
from abc import ABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from idp.settings import ConfigModel, SettingsError

__all__ = [
    "E164_PATTERN",
    "Capability",
    "ConfigT",
    "DeliveryConfigError",
    "DeliveryError",
    "EmailMessage",
    "Receipt",
    "SmsMessage",
    "Transport",
    "TransportError",
    "VoiceCall",
    "mask_email",
    "mask_number",
]

# ITU-T E.164: "+", a country code not starting with 0, at most 15 digits in all. Gateways
# (Twilio, SNS) want exactly this form; national formats are resolved before delivery.
E164_PATTERN = re.compile(r"\+[1-9][0-9]{6,14}")


class Capability(enum.Enum):
    """What a transport can do; each channel needs one."""

    SMS = "sms"
    VOICE = "voice"
    EMAIL = "email"


def mask_number(number: str) -> str:
    """``+819012345678`` -> ``+81******5678``: enough to tell numbers apart in a log, not
    enough to call one. Anything that is not E.164 is masked entirely."""
    if not E164_PATTERN.fullmatch(number):
        return "(invalid number)"
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_email(address: str) -> str:
    """``seller@example.com`` -> ``s*****@example.com``: the domain and a first letter, for
    logs and audit events."""
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "(invalid address)"
    return local[0] + "*" * max(len(local) - 1, 1) + "@" + domain


def _check_number(number: str) -> None:
    if not E164_PATTERN.fullmatch(number):
        # The number itself stays out of the message: it is personal data.
        raise ValueError("'to' must be an E.164 number such as +819012345678")


@dataclass(frozen=True)
class SmsMessage:
    """One text message. ``repr`` hides the number and the text (it may carry a code)."""

    to: str = field(repr=False)  # E.164
    text: str = field(repr=False)
    locale: str = "ja"  # "ja" or "en"

    def __post_init__(self) -> None:
        _check_number(self.to)


@dataclass(frozen=True)
class VoiceCall:
    """One call that speaks ``segments`` in order, with a short pause between them."""

    to: str = field(repr=False)  # E.164
    segments: tuple[str, ...] = field(repr=False)
    locale: str = "ja"  # "ja" or "en": the language the segments are spoken in

    def __post_init__(self) -> None:
        _check_number(self.to)
        if not self.segments:
            raise ValueError("a voice call needs at least one segment to speak")


@dataclass(frozen=True)
class EmailMessage:
    """One email: a plain-text part and an HTML alternative of the same words.

    ``repr`` hides the address and the content. ``headers`` are extra header fields (name,
    value) such as ``Auto-Submitted``; the transport sets From, To, Date and Message-ID."""

    to: str = field(repr=False)
    subject: str = field(repr=False)
    text: str = field(repr=False)
    html: str = field(repr=False)
    locale: str = "ja"
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        local, at, domain = self.to.rpartition("@")
        if not at or not local or "." not in domain or any(c in self.to for c in "\r\n<>, "):
            raise ValueError("'to' must be one plain email address such as seller@example.com")
        if "\n" in self.subject or "\r" in self.subject:
            raise ValueError("a subject is one line")


@dataclass(frozen=True)
class Receipt:
    """A gateway accepted the message (it may still fail to reach the phone later)."""

    transport: str  # the instance name that accepted it
    provider_id: str | None  # the gateway's id (Twilio sid, SNS MessageId), if it gave one


class TransportError(Exception):
    """One transport failed to hand over one message.

    ``retryable`` says whether the same request may succeed later (timeouts, 429, 5xx);
    ``status`` is the HTTP status, ``provider_code`` the gateway's own error code. The message
    names the instance and these codes only: never the text, the full number or credentials.
    """

    def __init__(
        self,
        instance: str,
        reason: str,
        *,
        retryable: bool,
        status: int | None = None,
        provider_code: str | None = None,
    ) -> None:
        super().__init__(f"{instance}: {reason}")
        self.instance = instance
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.provider_code = provider_code


class DeliveryError(Exception):
    """Every transport of a channel failed. The caller tells the person to use their backup
    method. ``failures`` holds each instance's :class:`TransportError`, in the order tried."""

    def __init__(self, channel: Capability, failures: Sequence[TransportError]) -> None:
        reasons = "; ".join(str(failure) for failure in failures) or "no transport configured"
        super().__init__(f"{channel.value} delivery failed: {reasons}")
        self.channel = channel
        self.failures = tuple(failures)


class DeliveryConfigError(SettingsError):
    """The ``[delivery]`` settings cannot work. One line per problem, fit for an operator."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)


ConfigT = TypeVar("ConfigT", bound=ConfigModel)


class Transport(ABC, Generic[ConfigT]):
    """One configured gateway. Synchronous: the app calls it from a thread pool.

    Subclasses MUST set ``type_name`` (equal to their entry-point name), ``config_class``
    and ``capabilities``, implement :meth:`send_sms` (and :meth:`place_call` if they list
    ``Capability.VOICE``), and release connections in :meth:`close`.
    """

    type_name: ClassVar[str]
    config_class: type[ConfigT]
    capabilities: ClassVar[frozenset[Capability]]

    def __init__(self, config: ConfigT, *, instance: str) -> None:
        self.config = config
        self.instance = instance

    @classmethod
    def check_capability(cls, config: ConfigT, capability: Capability) -> str | None:
        """``None`` if an instance with ``config`` can serve ``capability``, else why not.

        Override when support depends on config (Twilio voice needs a ``from_number``)."""
        if capability in cls.capabilities:
            return None
        supported = ", ".join(sorted(c.value for c in cls.capabilities)) or "nothing"
        verb = {Capability.SMS: "send SMS", Capability.VOICE: "place voice calls",
                Capability.EMAIL: "send email"}[capability]
        return f"type '{cls.type_name}' cannot {verb} (it supports: {supported})"

    def send_sms(self, msg: SmsMessage) -> Receipt:
        """Hand ``msg`` to the gateway; return its receipt or raise :class:`TransportError`.
        Every transport that lists ``Capability.SMS`` implements it."""
        raise TransportError(self.instance, "cannot send SMS", retryable=False)

    def place_call(self, call: VoiceCall) -> Receipt:
        """Place ``call``; return the receipt or raise :class:`TransportError`."""
        raise TransportError(self.instance, "cannot place voice calls", retryable=False)

    def send_email(self, msg: EmailMessage) -> Receipt:
        """Hand ``msg`` to a mail relay; return the receipt or raise :class:`TransportError`."""
        raise TransportError(self.instance, "cannot send email", retryable=False)

    def close(self) -> None:
        """Release connections and files. Called once, at shutdown."""
