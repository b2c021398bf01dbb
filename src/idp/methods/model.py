"""The plain values of the plugin contract: who the person is, what a method is, what it
stored, sent and verified. Import them from :mod:`idp.methods`, not from here."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PURPOSES", "Challenge", "Channel", "Credential", "Enrollment", "Interaction", "Key",
    "MethodInfo", "MethodUser", "Verified",
]

# Why a challenge is issued: a sign-in, the enrollment of a new credential, or one more key
# for a credential that holds several (a second security key).
PURPOSES = ("sign-in", "enrollment", "add-key")

class Channel(enum.Enum):
    """Where the person gets the code. The enrollment policy (BEHAVIOUR E3) uses it: by
    default at least one of primary and backup must be ``PHONE``."""

    APP = "app"  # the person reads a code from something they hold (authenticator app)
    PHONE = "phone"  # the server sends the code to a phone number (SMS, voice call)
    # A separate authenticator the browser talks to: a security key or a passkey. Paired
    # with an app it satisfies E3 (losing the phone that runs the app leaves the key).
    KEY = "key"


class Interaction(enum.Enum):
    """How the person answers a challenge. ``CODE``: they type a code (the form field
    ``code``). ``CEREMONY``: the browser runs a ceremony with an authenticator (WebAuthn)
    and puts its result into the hidden form field named by ``MethodInfo.answer_field``;
    the core then keeps the challenge server-side, bound to the login transaction, and
    takes it exactly once, on success and on failure."""

    CODE = "code"
    CEREMONY = "ceremony"


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
    # CEREMONY methods: ``amr`` lists the values the method MAY earn; the core picks the
    # ones the evidence of each sign-in supports (see ``Verified``).
    interaction: Interaction = Interaction.CODE
    # The form field that carries the person's answer (a code, a ceremony's JSON).
    answer_field: str = "code"
    # The credential may hold several ``Key`` s (security keys), each named, added and
    # removed on /account; ``verify`` says which one answered (``Verified.key_id``).
    several_keys: bool = False


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
class Key:
    """One authenticator of a credential that holds several (``MethodInfo.several_keys``):
    a security key or a passkey. The plugin creates it (``Verified.new_key``); the core
    stores it, keeps its counter and its ``blocked`` flag, and hands it back in
    ``Credential.keys``. Nothing in a key is secret (a public key, transports).

    - ``id``: the plugin's stable id for it (WebAuthn: the credential id, base64url).
    - ``name``: what the person called it ("Blue key"); shown on /account.
    - ``public``: JSON-able data ``verify`` needs (a COSE public key, transports, AAGUID).
    - ``counter``: the last signature counter the core accepted.
    - ``backup_eligible``: may be synced between devices (WebAuthn BE); fixed for life.
    - ``attested``: its attestation was verified against roots the operator configured.
    - ``blocked``: the core saw its counter go backwards on a key that can't be synced
      (a clone): it is refused until the person removes it.
    """

    id: str
    name: str = ""
    public: Mapping[str, Any] = field(default_factory=dict)
    counter: int = 0
    backup_eligible: bool = False
    attested: bool = False
    created_at: float = 0.0
    last_used_at: float | None = None
    blocked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "public": dict(self.public),
            "counter": self.counter, "backup_eligible": self.backup_eligible,
            "attested": self.attested, "created_at": self.created_at,
            "last_used_at": self.last_used_at, "blocked": self.blocked,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Key:
        return cls(
            id=str(data["id"]), name=str(data.get("name", "")),
            public=dict(data.get("public") or {}), counter=int(data.get("counter", 0)),
            backup_eligible=bool(data.get("backup_eligible")),
            attested=bool(data.get("attested")),
            created_at=float(data.get("created_at", 0.0)),
            last_used_at=data.get("last_used_at"), blocked=bool(data.get("blocked")),
        )


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
    # Filled by the core for ``several_keys`` methods: the person's keys, newest last.
    keys: tuple[Key, ...] = ()

    def public_only(self) -> Credential:
        """A copy without ``secret`` and ``phone``: what :meth:`Method.describe` receives."""
        return Credential(public=self.public, id=self.id, method=self.method, keys=self.keys)


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
    # Filled by the core: one of ``PURPOSES``. A CEREMONY method registers a new key for
    # "enrollment" and "add-key" and asks an existing key to sign for "sign-in".
    purpose: str = "sign-in"


@dataclass(frozen=True)
class Verified:
    """Evidence that the answer was right, for the core to judge. The plugin reports what
    it saw; the core decides replay, counters and ``amr``.

    ``use_id`` names exactly what was used (``"step:57820423"`` for a TOTP time step, the
    code id of a delivered code, the challenge of a ceremony); the core refuses the same
    ``use_id`` of the same credential twice, on every replica, for at least ``remember_s``
    seconds (and at least a code lifetime).

    CEREMONY methods also report: ``key_id`` (which of ``credential.keys`` signed, at
    sign-in), ``new_key`` (the key registered, at enrollment and "add-key"),
    ``sign_count`` (the authenticator's signature counter), and the authenticator data
    flags ``user_present`` (UP), ``user_verified`` (UV), ``backup_eligible`` (BE) and
    ``backed_up`` (BS). The core refuses an unknown or blocked key, a BE that changed, a
    missing UP; blocks a key that can't be synced whose counter went backwards; and derives
    ``amr`` (``user`` from UP, ``pin`` from UV, ``swk`` for a synced key, ``hwk`` only for a
    key attested against the operator's roots).
    """

    use_id: str
    remember_s: float = 0.0
    key_id: str | None = None
    new_key: Key | None = None
    sign_count: int | None = None
    user_present: bool = False
    user_verified: bool = False
    backup_eligible: bool | None = None
    backed_up: bool | None = None
