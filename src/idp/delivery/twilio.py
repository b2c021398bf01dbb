"""The ``twilio`` transport: Twilio's REST API (2010-04-01) over httpx, no SDK.

SMS: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with ``To``, ``From`` (or
``MessagingServiceSid``) and ``Body``. Voice: ``POST .../Calls.json`` with ``To``, ``From``
and ``Twiml``: one ``<Say language="...">`` per segment with a one-second ``<Pause>`` between.
Both form-encoded, HTTP Basic auth (AccountSid, AuthToken); success is 201 with the new
resource's ``sid``. Errors carry Twilio's JSON body ``{"code", "message", "more_info",
"status"}``; only ``code`` and ``status`` are kept (``message`` quotes the number).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from idp.delivery import Capability, Receipt, SmsMessage, Transport, TransportError, VoiceCall
from idp.delivery._retry import http_failure, make_client, retryable_status, with_retries
from idp.settings import ConfigModel

__all__ = ["TwilioConfig", "TwilioTransport", "build_twiml"]

API_VERSION = "2010-04-01"
# Seconds of silence between two spoken segments (TwiML <Pause length>).
PAUSE_S = 1


def build_twiml(segments: tuple[str, ...], language: str) -> str:
    """``<Response><Say language="ja-JP">…</Say><Pause length="1"/>…</Response>``, each
    segment XML-escaped (a segment is text, never markup)."""
    lang = escape(language, {'"': "&quot;"})
    says = [f'<Say language="{lang}">{escape(segment)}</Say>' for segment in segments]
    return "<Response>" + f'<Pause length="{PAUSE_S}"/>'.join(says) + "</Response>"


class TwilioConfig(ConfigModel):
    # "AC" + 32 hex digits, from the Twilio console.
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr
    # The sender: a Twilio number in E.164 (needed for voice), or an alphanumeric sender ID.
    from_number: str | None = None
    # Or, for SMS only, a Messaging Service ("MG" + 32 hex digits) that picks the sender.
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    # Overridable for tests and regional edges (e.g. https://api.dublin.ie1.twilio.com).
    api_base: str = "https://api.twilio.com"
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Further tries after a timeout, a refused connection, 429 or 5xx.
    retries: int = Field(default=1, ge=0, le=10)
    backoff_s: float = Field(default=0.2, ge=0, le=10)
    proxy: str | None = None
    # Twilio <Say> language for calls in each of our locales.
    voice_language_ja: str = "ja-JP"
    voice_language_en: str = "en-US"

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _has_sender(self) -> TwilioConfig:
        if not self.from_number and not self.messaging_service_sid:
            raise ValueError("give from_number or messaging_service_sid")
        return self


class TwilioTransport(Transport[TwilioConfig]):
    """Sends SMS and places calls through Twilio; see the module docstring."""

    type_name = "twilio"
    config_class = TwilioConfig
    capabilities = frozenset({Capability.SMS, Capability.VOICE})

    def __init__(self, config: TwilioConfig, *, instance: str) -> None:
        super().__init__(config, instance=instance)
        auth = (config.account_sid, config.auth_token.get_secret_value())
        self._client = make_client(config.timeout_s, config.proxy, auth=auth)
        self._base = f"{config.api_base}/{API_VERSION}/Accounts/{config.account_sid}"

    @classmethod
    def check_capability(cls, config: TwilioConfig, capability: Capability) -> str | None:
        if capability is Capability.VOICE and not config.from_number:
            return "voice calls need from_number (messaging_service_sid serves SMS only)"
        return super().check_capability(config, capability)

    def send_sms(self, msg: SmsMessage) -> Receipt:
        form = {"To": msg.to, "Body": msg.text}
        if self.config.messaging_service_sid:
            form["MessagingServiceSid"] = self.config.messaging_service_sid
        else:
            form["From"] = self.config.from_number or ""
        return self._create("Messages.json", form)

    def place_call(self, call: VoiceCall) -> Receipt:
        if not self.config.from_number:  # the registry refuses this config; defence in depth
            raise TransportError(self.instance, "no from_number for calls", retryable=False)
        language = (self.config.voice_language_ja if call.locale.startswith("ja")
                    else self.config.voice_language_en)
        form = {"To": call.to, "From": self.config.from_number,
                "Twiml": build_twiml(call.segments, language)}
        return self._create("Calls.json", form)

    def close(self) -> None:
        self._client.close()

    def _create(self, resource: str, form: dict[str, str]) -> Receipt:
        url = f"{self._base}/{resource}"
        sid = with_retries(lambda: self._post(url, form),
                           retries=self.config.retries, backoff_s=self.config.backoff_s)
        return Receipt(transport=self.instance, provider_id=sid)

    def _post(self, url: str, form: dict[str, str]) -> str | None:
        try:
            response = self._client.post(url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise http_failure(self.instance, exc) from None
        body = _json_object(response)
        if response.is_success:
            sid = body.get("sid")
            return sid if isinstance(sid, str) else None
        status = response.status_code
        code = body.get("code")
        # Digits only: whatever else an error body holds is not ours to repeat.
        provider_code = str(code) if str(code).isdigit() else None
        reason = f"Twilio answered HTTP {status}"
        if provider_code:
            # The code alone; its page explains it (Twilio's message quotes the number).
            reason += f", error {provider_code} (https://www.twilio.com/docs/errors/{provider_code})"
        raise TransportError(self.instance, reason, retryable=retryable_status(status),
                             status=status, provider_code=provider_code)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
