"""The plain values of the plugin contract: who the person is, what a method is, what it
stored, sent and verified. Import them from :mod:`idp.methods`, not from here."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Challenge", "Channel", "Credential", "Enrollment", "MethodInfo", "MethodUser", "Verified",
]


class Channel(enum.Enum):
    """Where the person gets the code. The enrollment policy (BEHAVIOUR E3) uses it: by
    default at least one of primary and backup must be ``PHONE``."""

    APP = "app"  # the person reads a code from something they hold (authenticator app)
    PHONE = "phone"  # the server sends the code to a phone number (SMS, voice call)


@dataclass(frozen=True)
class MethodInfo:
    """What a method is. ``id`` MUST equal the entry-point name.

    ``amr`` are RFC 8176 values (``otp``, ``sms``, ``tel``, ...); the core adds ``pwd`` and
    ``mfa``. ``delivers_code`` is ``True`` when the server sends the code (then a sign-in
    MUST call :meth:`Method.send_challenge` before :meth:`Method.verify`). ``enroll_fields``
    names the form fields :meth:`Method.begin_enrollment` reads (``("phone",)``), so pages
    can render any method's form.
    """

    id: str
    amr: tuple[str, ...]
    channel: Channel
    delivers_code: bool
    enroll_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodUser:
    """The person, as a plugin sees them. ``locale`` is the language of this interaction
    ("ja" or "en", already chosen by ``ui_locales``, the person's setting, Accept-Language);
    texts and calls MUST use it."""

    id: str
    email: str
    display_name: str = ""
    locale: str = "ja"


@dataclass(frozen=True)
class Credential:
    """One enrolled (or being-enrolled) method of one person.

    A plugin fills ``secret``, ``public`` and, for ``Channel.PHONE`` methods, ``phone``; the
    core fills ``id`` and ``method``.

    - ``secret``: bytes or a JSON-able dict the plugin needs to verify (a TOTP seed). The core
      encrypts it at rest (AES-256-GCM, bound to the user and credential id) and never shows
      it.
    - ``phone``: the E.164 number, for methods that send to a phone. Encrypted like
      ``secret``; the core also keeps a keyed hash of it, so it can refuse the same number
      in both roles (E4) and count sends per number without decrypting.
    - ``public``: JSON-able, safe to show and log (a masked number, an issuer); what
      :meth:`Method.describe` reads. MUST NOT contain the secret or the full number.
    """

    secret: bytes | Mapping[str, Any] = field(default=b"", repr=False)
    public: Mapping[str, Any] = field(default_factory=dict)
    phone: str | None = field(default=None, repr=False)
    id: str = ""
    method: str = ""

    def public_only(self) -> Credential:
        """A copy without ``secret`` and ``phone``: what :meth:`Method.describe` receives."""
        return Credential(public=self.public, id=self.id, method=self.method)


@dataclass(frozen=True)
class Enrollment:
    """What :meth:`Method.begin_enrollment` returns.

    ``credential`` is the credential to be: the core saves it only after the person proves
    it with a code (through :meth:`Method.send_challenge` and :meth:`Method.verify`, exactly
    as at sign-in). ``display`` is what the setup page shows, JSON-able strings: a QR code
    (inline SVG), an ``otpauth://`` URI, the secret grouped for typing, instructions. It may
    carry the secret (the person must see it once), so its ``repr`` is hidden and the core
    stores it encrypted.
    """

    credential: Credential
    display: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Challenge:
    """A challenge was issued: what :meth:`Method.send_challenge` returns and
    :meth:`Method.verify` gets back.

    ``data`` is JSON-able state the plugin needs in ``verify``, stored by the core until the
    code expires; it MUST NOT contain the code (delivered codes live in the core's
    one-time-code service, as salted hashes). ``sent_to`` is a masked destination for the
    page ("+81 90-****-5678"), ``None`` when nothing was sent.
    """

    data: Mapping[str, Any] = field(default_factory=dict)
    sent_to: str | None = None


@dataclass(frozen=True)
class Verified:
    """A right code. ``use_id`` names exactly what was used (``"step:57820423"`` for a TOTP
    time step, the code id of a delivered code); the core refuses the same ``use_id`` of the
    same credential twice, on every replica, for at least ``remember_s`` seconds (and at
    least a code lifetime)."""

    use_id: str
    remember_s: float = 0.0
