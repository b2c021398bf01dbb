"""Encryption at rest: AES-256-GCM with key ids, so data keys can rotate.

Keys come from ``[secrets] data_keys`` as ``"key-id:base64(32 bytes)"``. The first key
encrypts; every listed key decrypts. To rotate: put a new key first, deploy, run
``idp keys rotate-data-key`` (:func:`rotate_data_key`) to re-encrypt what is stored, then drop
the old key.

A token is self-describing text, ``g1.<key id>.<base64url(nonce || ciphertext || tag)>``, so
a reader knows which key to use and a future format can change the ``g1``. Every token is
bound to an AAD naming what it protects (e.g. a user id and credential id): a ciphertext
copied onto another record fails to decrypt instead of lending its secret to someone else.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idp.settings import SecretSettings, SettingsError

if TYPE_CHECKING:
    pass

__all__ = [
    "DataKeyError",
    "DataKeys",
    "DecryptionError",
    "generate_data_key",

]

TOKEN_VERSION = "g1"  # noqa: S105 - a format tag, not a secret
# AES-256 (FIPS 197 / SP 800-38D): 32-byte keys.
KEY_BYTES = 32
# SP 800-38D 8.2.2: 96-bit random nonces; a key must then encrypt fewer than 2**32 messages,
# far beyond what one data key protects here before it rotates.
NONCE_BYTES = 12
TAG_BYTES = 16
# Key ids are written into every token and into settings lines: keep them plain.
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class DataKeyError(SettingsError):
    """``[secrets] data_keys`` cannot be used. One line per problem; never the key itself."""


class DecryptionError(Exception):
    """A token cannot be decrypted: unknown key id, malformed, tampered with, or bound to
    another record (AAD). The message says which, never the plaintext or a key."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class DataKeys:
    """The data keys in order: ``current`` encrypts, all decrypt. ``repr`` shows ids only."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise DataKeyError(
                "secrets.data_keys: no data key configured; create one with "
                "`idp keys generate-data-key` and list it first"
            )
        lines = []
        seen: set[str] = set()
        for index, (kid, key) in enumerate(keys):
            if not KEY_ID.fullmatch(kid):
                lines.append(f"secrets.data_keys[{index}]: key id must match {KEY_ID.pattern}")
            if kid in seen:
                lines.append(f"secrets.data_keys[{index}]: key id {kid!r} is listed twice")
            seen.add(kid)
            if len(key) != KEY_BYTES:
                lines.append(
                    f"secrets.data_keys[{index}] ({kid!r}): expected {KEY_BYTES} bytes, "
                    f"got {len(key)}"
                )
        if lines:
            raise DataKeyError("\n".join(lines))
        self._keys = {kid: AESGCM(key) for kid, key in keys}
        self.current_id = keys[0][0]
        self.key_ids = tuple(kid for kid, _ in keys)

    @classmethod
    def from_strings(cls, values: Sequence[str]) -> DataKeys:
        """Parse ``"kid:base64"`` strings (the settings format)."""
        parsed: list[tuple[str, bytes]] = []
        lines = []
        for index, value in enumerate(values):
            kid, sep, encoded = value.strip().partition(":")
            if not sep:
                lines.append(f"secrets.data_keys[{index}]: expected 'key-id:base64(32 bytes)'")
                continue
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                lines.append(f"secrets.data_keys[{index}] ({kid!r}): not valid base64")
                continue
            parsed.append((kid, key))
        if lines:
            raise DataKeyError("\n".join(lines))
        return cls(parsed)

    @classmethod
    def from_settings(cls, settings: SecretSettings) -> DataKeys:
        return cls.from_strings([key.get_secret_value() for key in settings.data_keys])

    def __repr__(self) -> str:
        return f"DataKeys(current={self.current_id!r}, ids={list(self.key_ids)!r})"

    def encrypt(self, plaintext: bytes, aad: bytes) -> str:
        """Encrypt with the current key; ``aad`` names what the plaintext belongs to and must
        be given again, identical, to :meth:`decrypt`."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.current_id].encrypt(nonce, plaintext, aad)
        return f"{TOKEN_VERSION}.{self.current_id}.{_b64url(nonce + sealed)}"

    def decrypt(self, token: str, aad: bytes) -> bytes:
        """The plaintext of ``token``; :class:`DecryptionError` if it cannot be trusted."""
        kid, blob = self._parse(token)
        aead = self._keys.get(kid)
        if aead is None:
            raise DecryptionError(
                f"data key {kid!r} is not configured (known: {', '.join(self.key_ids)}); "
                "add it back to secrets.data_keys, or re-encrypt with the key it was rotated to"
            )
        try:
            return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise DecryptionError(
                f"ciphertext under data key {kid!r} failed authentication: it was altered, "
                "or belongs to another record"
            ) from None

    def key_id_of(self, token: str) -> str:
        """The key id a token names (it need not be configured)."""
        return self._parse(token)[0]

    def needs_rotation(self, token: str) -> bool:
        """``True`` when ``token`` is not under the current key."""
        return self.key_id_of(token) != self.current_id

    def reencrypt(self, token: str, aad: bytes) -> str:
        """``token`` re-encrypted under the current key (unchanged if it already is)."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, aad), aad)

    @staticmethod
    def _parse(token: str) -> tuple[str, bytes]:
        version, _, rest = token.partition(".")
        kid, _, encoded = rest.partition(".")
        if version != TOKEN_VERSION or not KEY_ID.fullmatch(kid) or not encoded:
            raise DecryptionError("not an encrypted value of a known format")
        try:
            blob = _unb64url(encoded)
        except (binascii.Error, ValueError):
            raise DecryptionError("encrypted value is not valid base64url") from None
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("encrypted value is truncated")
        return kid, blob


def generate_data_key(kid: str) -> str:
    """A new random key in the settings format, ``"kid:base64(32 bytes)"``."""
    if not KEY_ID.fullmatch(kid):
        raise ValueError(f"key id must match {KEY_ID.pattern}")
    return f"{kid}:{base64.b64encode(os.urandom(KEY_BYTES)).decode('ascii')}"
