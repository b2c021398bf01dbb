"""The webhook transport against a real loopback gateway that checks the signature."""

from __future__ import annotations

import hmac
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tests.delivery.gateways import (
    HANG,
    NUMBER,
    SMS,
    TEXT,
    WEBHOOK_SECRET,
    Reply,
    WebhookReceiver,
    assert_no_secrets,
    refused,
)

from idp.delivery import Capability, VoiceCall
from idp.delivery.webhook import (
    WebhookConfig,
    WebhookTransport,
    sign_webhook,
    verify_webhook_signature,
)


def webhook(url: str, **overrides: Any) -> WebhookTransport:
    values: dict[str, Any] = {"url": url, "secret": WEBHOOK_SECRET, "timeout_s": 2,
                              "backoff_s": 0.01, **overrides}
    return WebhookTransport(WebhookConfig(**values), instance="gateway")


def test_sms_arrives_signed_with_its_fields(webhook_gateway: WebhookReceiver) -> None:
    transport = webhook(webhook_gateway.url + "/sms")
    receipt = transport.send_sms(SMS)
    transport.close()

    assert webhook_gateway.verdicts == [True]
    request = webhook_gateway.requests[0]
    assert request.path == "/sms"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == receipt.provider_id
    assert request.headers["x-nidan-signature"].startswith("v1=")
    assert json.loads(request.body) == {"id": receipt.provider_id, "type": "sms", "to": NUMBER,
                                        "text": TEXT, "locale": "ja"}
    assert receipt.transport == "gateway"


def test_voice_arrives_with_segments(webhook_gateway: WebhookReceiver) -> None:
    transport = webhook(webhook_gateway.url)
    receipt = transport.place_call(VoiceCall(to=NUMBER, segments=("4", "8", "2"), locale="en"))
    transport.close()
    assert webhook_gateway.accepted == [{"id": receipt.provider_id, "type": "voice",
                                         "to": NUMBER, "segments": ["4", "8", "2"],
                                         "locale": "en"}]


def test_a_sender_with_another_secret_is_refused_without_retry(
    webhook_gateway: WebhookReceiver,
) -> None:
    transport = webhook(webhook_gateway.url, secret="another-secret-0123456789abcdef01234",
                        retries=2)
    error = refused(transport)
    assert webhook_gateway.verdicts == [False]
    assert (error.status, error.retryable) == (401, False)
    assert str(error) == "gateway: gateway answered HTTP 401"


def test_5xx_and_429_are_retried_with_the_same_idempotency_key(
    webhook_gateway: WebhookReceiver,
) -> None:
    webhook_gateway.script(Reply(500), Reply(429), Reply(503))
    transport = webhook(webhook_gateway.url, retries=3)
    receipt = transport.send_sms(SMS)
    transport.close()
    assert len(webhook_gateway.requests) == 4
    keys = {r.headers["idempotency-key"] for r in webhook_gateway.requests}
    assert keys == {receipt.provider_id}
    assert {r.body for r in webhook_gateway.requests} == {webhook_gateway.requests[0].body}
    assert webhook_gateway.verdicts == [True]  # the fourth, which reached normal handling


def test_retries_stop_after_the_configured_count(webhook_gateway: WebhookReceiver) -> None:
    webhook_gateway.script(*[Reply(502)] * 5)
    transport = webhook(webhook_gateway.url, retries=2)
    error = refused(transport)
    assert len(webhook_gateway.requests) == 3
    assert (error.status, error.retryable) == (502, True)


@pytest.mark.parametrize("status", [400, 404, 422, 301])
def test_other_non_2xx_fail_at_once(webhook_gateway: WebhookReceiver, status: int) -> None:
    webhook_gateway.script(Reply(status, headers=(("Location", "/elsewhere"),)))
    transport = webhook(webhook_gateway.url, retries=2)
    error = refused(transport)
    assert len(webhook_gateway.requests) == 1
    assert (error.status, error.retryable) == (status, False)


def test_a_hanging_gateway_times_out_then_the_retry_succeeds(
    webhook_gateway: WebhookReceiver,
) -> None:
    webhook_gateway.script(HANG)
    # Long enough for the retry to be answered on a busy machine, short enough to be quick.
    transport = webhook(webhook_gateway.url, timeout_s=0.6, retries=1)
    transport.send_sms(SMS)
    transport.close()
    assert len(webhook_gateway.requests) == 2
    assert webhook_gateway.verdicts == [True]


def test_a_timeout_without_retries_is_a_retryable_failure(
    webhook_gateway: WebhookReceiver, caplog: pytest.LogCaptureFixture,
) -> None:
    webhook_gateway.script(HANG)
    transport = webhook(webhook_gateway.url, timeout_s=0.3, retries=0)
    error = refused(transport, r"^gateway: timed out \(ReadTimeout\)$")
    assert error.retryable is True
    assert_no_secrets([str(error), *caplog.messages], WEBHOOK_SECRET)


def test_no_connection_names_neither_url_nor_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook?token=url-secret-42"
    transport = webhook(url, retries=1)
    error = refused(transport, "no connection")
    assert error.retryable is True
    assert_no_secrets([str(error), *caplog.messages], "url-secret-42", url)


def test_verify_webhook_signature() -> None:
    secret = WEBHOOK_SECRET.encode()
    body = b'{"id": "x", "type": "sms"}'
    now = time.time()
    ts = str(int(now))
    good = sign_webhook(secret, ts, body)
    assert verify_webhook_signature(secret, ts, body, good)
    assert verify_webhook_signature(secret, ts, body, f"v1=deadbeef, {good}")  # secret change
    assert not verify_webhook_signature(secret, ts, body + b" ", good)
    assert not verify_webhook_signature(b"other-secret", ts, body, good)
    assert not verify_webhook_signature(secret, str(int(now) + 1), body, good)
    assert not verify_webhook_signature(secret, ts, body, good.removeprefix("v1="))
    assert not verify_webhook_signature(secret, ts, body, "")
    assert not verify_webhook_signature(secret, "-1", body, good)
    # Stale or from the future beyond the tolerance: refused even when the MAC is right.
    assert verify_webhook_signature(secret, ts, body, good, now=int(ts) + 300)
    assert not verify_webhook_signature(secret, ts, body, good, now=int(ts) + 301)
    assert not verify_webhook_signature(secret, ts, body, good, now=int(ts) - 301)
    assert verify_webhook_signature(secret, ts, body, good, now=int(ts) + 500, tolerance_s=600)


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    # Fixed vector, recomputable by a gateway author in any language.
    assert sign_webhook(b"k" * 32, "1700000000", b"{}") == (
        "v1=" + hmac.new(b"k" * 32, b"1700000000.{}", "sha256").hexdigest())


def test_config_checks(tmp_path: Path) -> None:
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(WEBHOOK_SECRET + "\n", encoding="utf-8")
    config = WebhookConfig.model_validate({"url": "https://gw.example/sms",
                                           "secret_file": str(secret_file)})
    assert config.secret.get_secret_value() == WEBHOOK_SECRET
    assert (config.timeout_s, config.retries, config.backoff_s) == (5.0, 2, 0.2)
    assert WebhookTransport.check_capability(config, Capability.VOICE) is None
    sms_only = config.model_copy(update={"voice": False})
    assert WebhookTransport.check_capability(sms_only, Capability.VOICE) == (
        "voice = false: its gateway does not place calls")
    assert WebhookTransport.check_capability(sms_only, Capability.SMS) is None
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        WebhookConfig.model_validate({"url": "https://gw.example/sms", "secret": "short"})
    with pytest.raises(ValidationError, match="http"):
        WebhookConfig.model_validate({"url": "gw.example/sms", "secret": WEBHOOK_SECRET})
