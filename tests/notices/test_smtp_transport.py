"""The smtp transport against a real SMTP server on loopback, and its config checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from idp.delivery import Capability, DeliveryConfigError, EmailMessage, TransportError
from idp.delivery.registry import load_transports
from idp.delivery.smtp import SmtpConfig, SmtpTransport
from idp.settings import DeliverySettings
from tests.live_server import free_port
from tests.notices.smtp_sink import SmtpSink

MESSAGE = EmailMessage(to="seller@example.com", subject="件名", text="本文", html="<p>本文</p>",
                       locale="ja")


def test_a_message_arrives_as_multipart_text_and_html(sink: SmtpSink) -> None:
    transport = SmtpTransport(SmtpConfig.model_validate(sink.transport()), instance="smtp")
    receipt = transport.send_email(MESSAGE)
    received = sink.wait_for("seller@example.com")[-1]
    assert received.subject == "件名"
    assert received.part("plain").strip() == "本文"
    assert received.part("html").strip() == "<p>本文</p>"
    assert str(received.message["From"]) == "Nidan <no-reply@id.example.com>"
    assert receipt.provider_id
    assert receipt.provider_id in str(received.message["Message-ID"])


def test_no_relay_is_a_retryable_failure_that_names_no_address() -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), starttls=False,
                        from_address="no-reply@id.example.com", timeout_s=1, retries=0)
    with pytest.raises(TransportError) as caught:
        SmtpTransport(config, instance="smtp").send_email(MESSAGE)
    assert caught.value.retryable
    assert "seller" not in str(caught.value)


@pytest.mark.parametrize(("values", "problem"), [
    ({"host": "mail.example.com", "starttls": False}, "only to a relay on loopback"),
    ({"host": "mail.example.com", "implicit_tls": True}, "choose one"),
    ({"host": "mail.example.com", "username": "nidan"}, "go together"),
    ({"host": "mail.example.com", "from_address": "not an address"}, "from_address"),
])
def test_config_that_cannot_work_is_refused(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SmtpConfig.model_validate({"from_address": "no-reply@id.example.com", **values})
    assert problem in str(caught.value)


def test_the_email_channel_fails_over_in_order(sink: SmtpSink) -> None:
    dead = {**sink.transport(), "port": free_port()}
    delivery = load_transports(
        DeliverySettings(sms=[], voice=[], transports={"dead": {"type": "smtp", **dead},
                                     "relay": {"type": "smtp", **sink.transport()}}),
        email=["dead", "relay"],
    )
    try:
        assert Capability.EMAIL in delivery.channels
        receipt = delivery.send_email(EmailMessage(
            to="failover@example.com", subject="s", text="t", html="<p>t</p>"))
        assert receipt.transport == "relay"
        assert len(sink.wait_for("failover@example.com")) == 1
    finally:
        delivery.close()


def test_an_email_channel_naming_an_sms_only_transport_is_refused() -> None:
    with pytest.raises(DeliveryConfigError) as caught:
        load_transports(DeliverySettings(transports={
            "sns": {"region": "ap-northeast-1"}, "outbox": {}}), email=["sns"])
    assert "notifications.email: transport instance 'sns'" in str(caught.value)
