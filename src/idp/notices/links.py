"""One-time signed links in mails: "this wasn't me" and "confirm your email address".

A link carries an itsdangerous timed signature (``[secrets] cookie_keys``: the newest signs,
all verify) over ``{p: purpose, u: user id, r: reference}`` - the reference names the notice
(or the verification) it belongs to. The signature tells a forged or mangled link from an
expired one; a store record ``notice-link:<purpose>:<reference>``, written when the mail is
sent and taken (``Store.take``) when the link is used, makes it single use on every replica,
so a second click can be told "already used" rather than "invalid".
"""

from __future__ import annotations

import enum
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from idp.store import Store

__all__ = ["LinkState", "Links", "Opened"]

_SALT = "nidan-notice-link"
_KEY = "notice-link:"
_MAX_TOKEN_CHARS = 512


class LinkState(enum.Enum):
    OK = "ok"
    EXPIRED = "expired"
    USED = "used"
    INVALID = "invalid"


@dataclass(frozen=True)
class Opened:
    state: LinkState
    user_id: str | None = None
    reference: str | None = None
    # What the record held (the verification's address); empty for a report link.
    value: str = ""


class Links:
    def __init__(self, keys: Sequence[str], store: Store,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store

        class _Signer(TimestampSigner):
            # The signature's timestamp, and its age when checked, come from ``clock``.
            def get_timestamp(self) -> int:
                return int(clock())

        self._serializer = URLSafeTimedSerializer(
            list(reversed(keys)), salt=_SALT, signer=_Signer,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
        )

    def issue(self, purpose: str, user_id: str, reference: str, *, ttl: float,
              value: str = "") -> str:
        """A link token, valid ``ttl`` seconds from now, usable once."""
        self._store.set(f"{_KEY}{purpose}:{reference}", value.encode(), ttl=ttl)
        token: str = self._serializer.dumps({"p": purpose, "u": user_id, "r": reference})
        return token

    def peek(self, token: str, purpose: str, *, max_age: float) -> Opened:
        """What the link is, without using it (to show the confirmation page)."""
        return self._open(token, purpose, max_age=max_age, take=False)

    def use(self, token: str, purpose: str, *, max_age: float) -> Opened:
        """Use the link: of many racing requests on any replica, one gets ``OK``."""
        return self._open(token, purpose, max_age=max_age, take=True)

    def _open(self, token: str, purpose: str, *, max_age: float, take: bool) -> Opened:
        if not token or len(token) > _MAX_TOKEN_CHARS:
            return Opened(LinkState.INVALID)
        try:
            data: Any = self._serializer.loads(token, max_age=int(max_age))
        except SignatureExpired as exc:
            payload = exc.payload
            data = None
            if payload is not None:
                try:
                    data = self._serializer.load_payload(payload)
                except BadSignature:
                    data = None
            user_id = data.get("u") if isinstance(data, dict) else None
            return Opened(LinkState.EXPIRED, user_id=user_id if isinstance(user_id, str)
                          else None)
        except BadSignature:
            return Opened(LinkState.INVALID)
        if not (isinstance(data, dict) and data.get("p") == purpose
                and isinstance(data.get("u"), str) and isinstance(data.get("r"), str)):
            return Opened(LinkState.INVALID)
        key = f"{_KEY}{purpose}:{data['r']}"
        raw = self._store.take(key) if take else self._store.get(key)
        if raw is None:
            return Opened(LinkState.USED, user_id=data["u"], reference=data["r"])
        return Opened(LinkState.OK, user_id=data["u"], reference=data["r"],
                      value=raw.decode())
