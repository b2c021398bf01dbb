"""The trusted-browser cookie: its name, its attributes, and its signed value.

Value: itsdangerous ``URLSafeSerializer`` over ``{d: device id, u: user id, n: nonce, e:
expiry}``, HMAC-SHA256 with a salt used for nothing else. The server record stays the
authority (DESIGN "Trusted browsers"); the signature only lets us refuse junk without a store
read, and the signed expiry lets us call an expired cookie expired after its record is gone.
The value is signed, not encrypted: the browser that holds it can read the user id in it.

Key rotation: ``[secrets] cookie_keys`` lists keys NEWEST FIRST ("the first signs, all
verify"); itsdangerous takes them oldest to newest and signs with the last, so the list is
reversed here. To rotate, put a new key first; after ``lifetimes.trusted_browser_s`` every
cookie signed by the old key has expired and the old key can go.

Name: ``__Host-nidan_tb_<16 hex>`` over https (the prefix makes the browser insist on Secure,
Path=/ and no Domain, so a sibling subdomain cannot plant or shadow it), ``nidan_tb_<16 hex>``
on plain-http dev servers, where browsers refuse ``__Host-`` and ``Secure``. The hex is an
HMAC of the user id under a key derived from a cookie key, so a cookie name neither reveals a
user id nor lets anyone test a guess. The newest key names new cookies; cookies under the
names of older keys are still read (:meth:`CookieCodec.names`), so rotation loses no trust.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from itsdangerous import BadData, BadPayload, URLSafeSerializer

from idp.devices.model import TrustReason
from idp.settings import SettingsError

__all__ = [
    "CookieCodec",
    "CookieKeyError",
    "CookiePayload",
    "CookieRejected",
    "ForgedCookie",
    "IssuedCookie",
    "MalformedCookie",
]

# One purpose, one salt: a value signed for another cookie (CSRF, sessions) under the same
# keys never verifies here. The version changes with the payload's format.
SALT = b"nidan.trusted-browser.v1"
NAME_CONTEXT = b"nidan.trusted-browser.cookie-name.v1"
# 64 bits of keyed hash: enough that one person's browsers never share a name by accident.
NAME_HASH_HEX = 16
SECURE_PREFIX = "__Host-nidan_tb_"
PLAIN_PREFIX = "nidan_tb_"
# A short HMAC key can be brute-forced offline from one captured cookie. RFC 2104 section 3
# recommends at least the hash length (32 bytes for SHA-256); 16 characters is the floor we
# refuse below, and `secrets.token_urlsafe(32)` (43 characters) is what we recommend.
MIN_COOKIE_KEY_CHARS = 16
# Ids and nonces are secrets.token_urlsafe(16) and (32): 128 and 256 random bits.
DEVICE_ID_BYTES = 16
NONCE_BYTES = 32
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{22}")
NONCE = re.compile(r"[A-Za-z0-9_-]{43}")
# Our values are ~200 characters; anything far longer is not ours and is not parsed.
MAX_VALUE_CHARS = 1024
# itsdangerous' URL-safe form: optional "." (zlib-compressed), base64url payload, ".",
# base64url signature (ours: HMAC-SHA256, 43 characters; any plausible length is accepted
# here so that a value signed some other way counts as forged, not malformed).
_SIGNED_VALUE = re.compile(r"\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16,128}")


class CookieKeyError(SettingsError):
    """``[secrets] cookie_keys`` cannot sign trusted-browser cookies. Never shows a key."""


class CookieRejected(Exception):
    """A cookie value that is not a valid signed payload. ``reason`` says which kind."""

    reason: ClassVar[TrustReason]


class MalformedCookie(CookieRejected):
    reason = TrustReason.MALFORMED


class ForgedCookie(CookieRejected):
    reason = TrustReason.FORGED


@dataclass(frozen=True)
class CookiePayload:
    """What a trusted-browser cookie says, once its signature has been verified."""

    device_id: str
    user_id: str
    nonce: str = field(repr=False)
    expires: int


@dataclass(frozen=True)
class IssuedCookie:
    """A cookie for the web layer to set (or, with ``max_age=0``, to clear).

    ``HttpOnly``: no script needs it. ``SameSite=Lax``: it must arrive on the top-level
    redirect from a client's ``/authorize`` to ``/login``, and on nothing cross-site else.
    """

    name: str
    value: str = field(repr=False)
    max_age: int
    secure: bool
    path: str = "/"
    httponly: bool = True
    samesite: str = "lax"

    def set_cookie_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for Starlette's ``Response.set_cookie``."""
        return {
            "key": self.name,
            "value": self.value,
            "max_age": self.max_age,
            "path": self.path,
            "secure": self.secure,
            "httponly": self.httponly,
            "samesite": self.samesite,
        }

    def header(self) -> str:
        """The ``Set-Cookie`` header value."""
        parts = [f"{self.name}={self.value}", f"Max-Age={self.max_age}", f"Path={self.path}"]
        if self.secure:
            parts.append("Secure")
        if self.httponly:
            parts.append("HttpOnly")
        parts.append(f"SameSite={self.samesite.capitalize()}")
        return "; ".join(parts)


class CookieCodec:
    """Names, signs and verifies trusted-browser cookies with ``keys`` (newest first)."""

    def __init__(self, keys: Sequence[str], *, secure: bool) -> None:
        if not keys:
            raise CookieKeyError(
                "secrets.cookie_keys: at least one key is needed to sign trusted-browser "
                "cookies; generate one with: python -c "
                "'import secrets; print(secrets.token_urlsafe(32))'"
            )
        for index, key in enumerate(keys):
            if len(key) < MIN_COOKIE_KEY_CHARS:
                raise CookieKeyError(
                    f"secrets.cookie_keys: key {index + 1} is shorter than "
                    f"{MIN_COOKIE_KEY_CHARS} characters; use 32 random bytes"
                )
        self.secure = secure
        # itsdangerous: oldest to newest, the last signs (see the module docstring).
        self._serializer = URLSafeSerializer(
            list(reversed(keys)),
            salt=SALT,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
        )
        self._name_keys = [
            hmac.new(key.encode(), NAME_CONTEXT, hashlib.sha256).digest() for key in keys
        ]

    # -- names ---------------------------------------------------------------------------

    def _name(self, name_key: bytes, user_id: str) -> str:
        digest = hmac.new(name_key, user_id.encode(), hashlib.sha256).hexdigest()
        prefix = SECURE_PREFIX if self.secure else PLAIN_PREFIX
        return prefix + digest[:NAME_HASH_HEX]

    def name(self, user_id: str) -> str:
        """The name a new cookie for ``user_id`` gets (under the newest key)."""
        return self._name(self._name_keys[0], user_id)

    def names(self, user_id: str) -> tuple[str, ...]:
        """Every name a live cookie for ``user_id`` may have, newest key first."""
        return tuple(dict.fromkeys(self._name(k, user_id) for k in self._name_keys))

    # -- values --------------------------------------------------------------------------

    def dumps(self, payload: CookiePayload) -> str:
        """The signed value (newest key)."""
        return self._serializer.dumps(
            {"d": payload.device_id, "u": payload.user_id, "n": payload.nonce,
             "e": payload.expires}
        )

    def loads(self, value: str) -> CookiePayload:
        """Verify and parse; raises :class:`MalformedCookie` or :class:`ForgedCookie`."""
        if len(value) > MAX_VALUE_CHARS or not _SIGNED_VALUE.fullmatch(value):
            raise MalformedCookie("not a signed trusted-browser value")
        try:
            data = self._serializer.loads(value)
        except BadPayload:
            # The signature held but the payload does not decode: only a key holder could
            # have made it, so it is a format problem, not a forgery.
            raise MalformedCookie("unreadable payload") from None
        except BadData:
            raise ForgedCookie("signature does not verify with any key") from None
        if not (
            isinstance(data, dict)
            and set(data) == {"d", "u", "n", "e"}
            and isinstance(data["d"], str)
            and DEVICE_ID.fullmatch(data["d"])
            and isinstance(data["n"], str)
            and NONCE.fullmatch(data["n"])
            and isinstance(data["u"], str)
            and 0 < len(data["u"]) <= 256
            and type(data["e"]) is int
        ):
            raise MalformedCookie("signed payload has the wrong shape")
        return CookiePayload(
            device_id=data["d"], user_id=data["u"], nonce=data["n"], expires=data["e"]
        )
