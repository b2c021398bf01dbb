"""The WebAuthn part of the contract kit: a small software authenticator, so a plugin
author tests ceremonies without a browser.

:class:`SoftAuthenticator` is a CTAP2-like authenticator in pure Python: P-256 keys (ES256,
through ``cryptography``), ``none`` attestation, CBOR written by hand (the few types
WebAuthn needs), and the browser's part (``clientDataJSON`` with the origin). It answers the
options a CEREMONY method put in ``Challenge.data["options"]`` with the JSON a browser's
``PublicKeyCredential.toJSON()`` gives, which is what the page's hidden field carries::

    key = SoftAuthenticator(origin="http://localhost:8000", rp_id="localhost")
    answer = key.create(pending.ceremony["options"])     # registration
    service.complete_enrollment(user, "backup", {"credential": json.dumps(answer)})
    answer = key.get(sent.ceremony["options"])            # sign-in
    service.verify(user, "backup", {"credential": json.dumps(answer)})

Knobs for the refusals a relying party must make: ``origin`` (a phishing site),
``backup_eligible`` / ``backed_up`` (synced passkeys), ``user_verified``, ``user_present``,
``counter_step`` (0: a passkey that never counts), :meth:`clone` (a copied key),
``bad_signature``, and a ``challenge`` override.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["SoftAuthenticator", "b64url", "cbor"]

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise ValueError("integer too large for CBOR")


def cbor(value: Any) -> bytes:
    """CBOR (RFC 8949) of ints, bytes, text, lists and maps: what WebAuthn uses. Map keys
    keep their order (CTAP2's canonical order is the caller's)."""
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return _head(3, len(raw)) + raw
    if isinstance(value, list | tuple):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, Mapping):
        return _head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


@dataclass
class _Held:
    private: ec.EllipticCurvePrivateKey = field(repr=False)
    counter: int
    user_handle: bytes


class SoftAuthenticator:
    """See the module docstring. Not thread-safe; one per simulated device."""

    def __init__(
        self, *, origin: str, rp_id: str, backup_eligible: bool = False,
        backed_up: bool = False, user_verified: bool = True, user_present: bool = True,
        counter_step: int = 1, transports: tuple[str, ...] = ("usb",),
    ) -> None:
        self.origin = origin
        self.rp_id = rp_id
        self.backup_eligible = backup_eligible
        self.backed_up = backed_up
        self.user_verified = user_verified
        self.user_present = user_present
        self.counter_step = counter_step
        self.transports = transports
        self.bad_signature = False
        self.held: dict[bytes, _Held] = {}

    def clone(self) -> SoftAuthenticator:
        """A second device holding copies of the same keys and counters."""
        twin = copy.copy(self)
        twin.held = {cid: _Held(h.private, h.counter, h.user_handle)
                     for cid, h in self.held.items()}
        return twin

    # -- the parts -----------------------------------------------------------------------

    def _flags(self, *, attested: bool) -> int:
        flags = UP if self.user_present else 0
        flags |= UV if self.user_verified else 0
        flags |= BE if self.backup_eligible else 0
        flags |= BS if self.backed_up else 0
        return flags | (AT if attested else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({
            "type": kind, "challenge": challenge, "origin": origin or self.origin,
            "crossOrigin": False,
        }, separators=(",", ":")).encode()

    @staticmethod
    def _cose(private: ec.EllipticCurvePrivateKey) -> bytes:
        numbers = private.public_key().public_numbers()
        return cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                     -3: numbers.y.to_bytes(32, "big")})

    # -- ceremonies ----------------------------------------------------------------------

    def create(
        self, options: Mapping[str, Any], *, origin: str | None = None,
        challenge: str | None = None, rp_id: str | None = None,
    ) -> dict[str, Any]:
        """``navigator.credentials.create()``: a new key for ``options`` (the JSON form of
        PublicKeyCredentialCreationOptions). Refuses (``ValueError``) a key already held
        and listed in ``excludeCredentials``, as a real authenticator does."""
        excluded = {_unb64url(c["id"]) for c in options.get("excludeCredentials") or ()}
        if excluded & set(self.held):
            raise ValueError("InvalidStateError: this authenticator is already registered")
        private = ec.generate_private_key(ec.SECP256R1())
        credential_id = secrets.token_bytes(32)
        user_handle = _unb64url(str(options["user"]["id"]))
        self.held[credential_id] = _Held(private, 0, user_handle)
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = (
            rp_hash + bytes([self._flags(attested=True)]) + struct.pack(">I", 0) + bytes(16)
            + struct.pack(">H", len(credential_id)) + credential_id + self._cose(private)
        )
        client = self._client_data("webauthn.create", challenge or options["challenge"],
                                   origin)
        attestation = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(credential_id), "rawId": b64url(credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64url(client),
                         "attestationObject": b64url(attestation),
                         "transports": list(self.transports)},
            "clientExtensionResults": {}, "authenticatorAttachment": "cross-platform",
        }

    def get(
        self, options: Mapping[str, Any], *, origin: str | None = None,
        challenge: str | None = None, rp_id: str | None = None,
    ) -> dict[str, Any]:
        """``navigator.credentials.get()``: sign with the first held key that
        ``allowCredentials`` lists; ``ValueError`` if none is held."""
        allowed = [_unb64url(c["id"]) for c in options.get("allowCredentials") or ()]
        found = next((cid for cid in allowed if cid in self.held), None)
        if found is None:
            raise ValueError("NotAllowedError: no registered key on this authenticator")
        held = self.held[found]
        held.counter += self.counter_step
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([self._flags(attested=False)]) + struct.pack(">I", held.counter)
        client = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client).digest()
        signature = held.private.sign(signed, ec.ECDSA(hashes.SHA256()))
        if self.bad_signature:
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        return {
            "id": b64url(found), "rawId": b64url(found), "type": "public-key",
            "response": {"clientDataJSON": b64url(client),
                         "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": b64url(held.user_handle)},
            "clientExtensionResults": {}, "authenticatorAttachment": "cross-platform",
        }

    def answer(self, ceremony: Mapping[str, Any], **overrides: Any) -> str:
        """The hidden field's value for a ceremony (``ChallengeSent.ceremony`` or
        ``PendingEnrollment.ceremony``): ``create`` or ``get`` as its ``kind`` says."""
        options = ceremony["options"]
        made = self.create(options, **overrides) if ceremony["kind"] == "create" else self.get(
            options, **overrides
        )
        return json.dumps(made)


class WebAuthnContract:
    """Mix into :class:`~idp.methods.testing.MethodContract` for a WebAuthn method: answers
    its ceremonies with a :class:`SoftAuthenticator` per test, at ``origin`` (the first of
    ``config["allowed_origins"]``), so the whole kit runs unchanged::

        class TestMine(WebAuthnContract, MethodContract):
            method_class = MyWebAuthn
            config = {"rp_id": "localhost", "allowed_origins": ["http://localhost:8000"]}
    """

    config: ClassVar[Mapping[str, Any]]

    def authenticator(self, harness: Any) -> SoftAuthenticator:
        """The test's authenticator (one per harness, so keys persist within a test)."""
        found = getattr(harness, "_soft_authenticator", None)
        if found is None:
            found = SoftAuthenticator(origin=str(self.config["allowed_origins"][0]),
                                      rp_id=str(self.config["rp_id"]))
            harness._soft_authenticator = found
        return found

    def answer(
        self, harness: Any, credential: Any, ceremony: Mapping[str, Any] | None
    ) -> dict[str, str]:
        if ceremony is None:
            raise AssertionError("a ceremony method gave the page no ceremony options")
        return {"credential": self.authenticator(harness).answer(ceremony)}

    def wrong_answer(
        self, harness: Any, credential: Any, ceremony: Mapping[str, Any] | None
    ) -> dict[str, str]:
        """The same ceremony answered from a phishing origin: refused by every check."""
        if ceremony is None:
            raise AssertionError("a ceremony method gave the page no ceremony options")
        return {"credential": self.authenticator(harness).answer(
            ceremony, origin="https://phishing.example")}
