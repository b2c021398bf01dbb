"""The ``webhook`` transport: a signed JSON POST to the operator's own SMS/voice gateway.

Body: ``{"id", "type": "sms" | "voice", "to", "text" | "segments", "locale"}``. Headers:
``X-Nidan-Timestamp`` (unix seconds), ``X-Nidan-Signature: v1=<hex>`` where ``<hex>`` is
HMAC-SHA256(secret, ``f"{timestamp}."`` + body), and ``Idempotency-Key: <id>`` (the same on
every retry of one message, so a gateway can drop repeats). Any 2xx is success.

A gateway checks a request with :func:`verify_webhook_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
from pydantic import Field, SecretStr, field_validator

from idp.delivery import Capability, Receipt, SmsMessage, Transport, TransportError, VoiceCall
from idp.delivery._retry import http_failure, make_client, retryable_status, with_retries
from idp.settings import ConfigModel

__all__ = [
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE_S",
    "TIMESTAMP_HEADER",
    "WebhookConfig",
    "WebhookTransport",
    "sign_webhook",
    "verify_webhook_signature",
]

TIMESTAMP_HEADER = "X-Nidan-Timestamp"
SIGNATURE_HEADER = "X-Nidan-Signature"
SIGNATURE_VERSION = "v1"
# A signed request older (or newer) than this is refused: it bounds how long a captured
# request can be replayed while allowing for clock skew (the figure Stripe and Slack use).
SIGNATURE_TOLERANCE_S = 300


def sign_webhook(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Nidan-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_webhook_signature(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> bool:
    """True if ``signature`` (the ``X-Nidan-Signature`` header) signs ``body`` (the raw request
    body, exactly as received) at ``timestamp`` (the ``X-Nidan-Timestamp`` header) with
    ``secret``, and the timestamp is within ``tolerance_s`` of ``now`` (default: the clock).

    The header may list several comma-separated ``v1=`` values (e.g. during a secret
    change); one match is enough. Comparison is constant-time.
    """
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_s:
        return False
    expected = sign_webhook(secret, timestamp, body).encode("ascii")
    matched = False
    for candidate in signature.split(","):
        # No early exit: every candidate is compared, so timing reveals nothing.
        matched |= hmac.compare_digest(expected, candidate.strip().encode("utf-8", "replace"))
    return matched


class WebhookConfig(ConfigModel):
    url: str
    # Shared with the gateway; give secret_file to read it from a mounted file.
    secret: SecretStr
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Further tries after a timeout, a refused connection, 429 or 5xx.
    retries: int = Field(default=2, ge=0, le=10)
    # The wait before the first retry (seconds), doubled before each later one.
    backoff_s: float = Field(default=0.2, ge=0, le=10)
    # An HTTP(S) proxy URL; the process environment's proxy variables are not used.
    proxy: str | None = None
    # The gateway must be able to place calls for this instance to serve the voice channel.
    voice: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s) URL")
        return value

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        # RFC 2104 section 3: a key shorter than the hash output (32 bytes) weakens the MAC.
        if len(value.get_secret_value().encode("utf-8")) < 32:
            raise ValueError("must be at least 32 bytes (e.g. `openssl rand -hex 32`)")
        return value


class WebhookTransport(Transport[WebhookConfig]):
    """POSTs each message, signed, to ``config.url``; see the module docstring."""

    type_name = "webhook"
    config_class = WebhookConfig
    capabilities = frozenset({Capability.SMS, Capability.VOICE})

    def __init__(self, config: WebhookConfig, *, instance: str) -> None:
        super().__init__(config, instance=instance)
        self._secret = config.secret.get_secret_value().encode("utf-8")
        self._client = make_client(config.timeout_s, config.proxy)

    @classmethod
    def check_capability(cls, config: WebhookConfig, capability: Capability) -> str | None:
        if capability is Capability.VOICE and not config.voice:
            return "voice = false: its gateway does not place calls"
        return super().check_capability(config, capability)

    def send_sms(self, msg: SmsMessage) -> Receipt:
        return self._post({"type": "sms", "to": msg.to, "text": msg.text, "locale": msg.locale})

    def place_call(self, call: VoiceCall) -> Receipt:
        return self._post({"type": "voice", "to": call.to, "segments": list(call.segments),
                           "locale": call.locale})

    def close(self) -> None:
        self._client.close()

    def _post(self, fields: dict[str, Any]) -> Receipt:
        message_id = uuid.uuid4().hex
        body = json.dumps({"id": message_id, **fields}, ensure_ascii=False).encode("utf-8")
        with_retries(lambda: self._attempt(message_id, body),
                     retries=self.config.retries, backoff_s=self.config.backoff_s)
        return Receipt(transport=self.instance, provider_id=message_id)

    def _attempt(self, message_id: str, body: bytes) -> None:
        # Signed afresh on each try, so a retry after a long backoff is not stale.
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign_webhook(self._secret, timestamp, body),
            "Idempotency-Key": message_id,
        }
        try:
            response = self._client.post(self.config.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise http_failure(self.instance, exc) from None
        if not response.is_success:
            status = response.status_code
            raise TransportError(self.instance, f"gateway answered HTTP {status}",
                                 retryable=retryable_status(status), status=status)
