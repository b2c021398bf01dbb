"""The plugin contract's types. Import them from :mod:`idp.methods`, not from here."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from idp.methods.errors import EnrollmentInvalid
from idp.settings import ConfigModel

if TYPE_CHECKING:
    from idp.methods.context import MethodContext

__all__ = [
    "Challenge",
    "Channel",
    "ConfigT",
    "Credential",
    "Enrollment",
    "Method",
    "MethodInfo",
    "MethodUser",
    "Verified",
]

ConfigT = TypeVar("ConfigT", bound=ConfigModel)


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


class Method(ABC, Generic[ConfigT]):
    """A second-factor method. Subclass it, set ``info`` and ``config_class``, register the
    class under the ``idp.methods`` entry-point group with ``info.id`` as the name.

    The core constructs one instance per deployment with the validated config and a
    :class:`MethodContext`, and calls it from many threads at once: keep no per-person state
    on the instance; everything about a person lives in the objects passed in and out.

    The core, not the plugin, enforces attempt limits, resend throttles and budgets, expiry,
    single use (via :class:`Verified`), encryption of credential secrets, audit events and
    ``amr``. A plugin MUST NOT count attempts, log codes, or put a code, secret or full
    number into an exception, ``public`` or ``describe()``.

    Example::

        class PinConfig(ConfigModel):
            length: int = 6

        class PinMethod(Method[PinConfig]):
            info = MethodInfo(id="pin", amr=("pin",), channel=Channel.APP,
                              delivers_code=False)
            config_class = PinConfig
            ...
    """

    info: ClassVar[MethodInfo]
    config_class: type[ConfigT]

    def __init__(self, config: ConfigT, ctx: MethodContext) -> None:
        self.config = config
        self.ctx = ctx

    def label(self, locale: str) -> str:
        """The method's name on pages ("Authenticator app" / "認証アプリ"). Default: the id."""
        return self.info.id

    @abstractmethod
    def begin_enrollment(self, user: MethodUser, form: Mapping[str, str]) -> Enrollment:
        """Validate ``form`` (the fields in ``info.enroll_fields``) and create the credential
        to be. MUST NOT send anything: the core calls :meth:`send_challenge` next, under its
        resend limits. Raise :class:`EnrollmentInvalid` (or a subclass such as
        ``PhoneInvalid``) for bad input."""

    def send_challenge(self, user: MethodUser, credential: Credential) -> Challenge:
        """Issue a challenge for ``credential``: for a method that delivers codes, get one
        from ``self.ctx.issue_code(user, credential.id)`` and send it with
        ``self.ctx.send_sms`` / ``self.ctx.place_call`` (which raise
        :class:`DeliveryFailed`; let it propagate). The default sends nothing: right for
        methods whose code the person reads from a device."""
        return Challenge()

    @abstractmethod
    def verify(
        self,
        user: MethodUser,
        credential: Credential,
        challenge: Challenge,
        form: Mapping[str, str],
    ) -> Verified | None:
        """Check the code in ``form["code"]``. Return :class:`Verified` naming what was used,
        or ``None`` for a wrong code. Compare in constant time (``hmac.compare_digest``);
        for delivered codes return ``self.ctx.check_code(user, credential.id,
        form.get("code", ""))``. Raise :class:`MethodError` only for something other than a
        wrong code (``CodeExpired`` comes from ``ctx.check_code``)."""

    @abstractmethod
    def describe(self, credential: Credential, locale: str) -> str:
        """One line for the settings page, e.g. ``"SMS to +81 90-****-5678"``. Receives
        :meth:`Credential.public_only` (no secret, no number): use ``public``."""

    def import_credential(self, user: MethodUser, data: Mapping[str, str]) -> Credential:
        """Build a credential from an import file's columns (``idp users import``, BEHAVIOUR
        A2), validated as strictly as enrollment. Raise :class:`EnrollmentInvalid` with an
        operator-facing ``detail`` naming the column. The default refuses: a method that
        supports migration overrides this."""
        raise EnrollmentInvalid(
            detail=f"method {self.info.id!r} cannot import credentials", field="method"
        )
