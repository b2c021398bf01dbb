"""The value types and errors of the transport contract."""

from __future__ import annotations

import pytest
from tests.delivery.gateways import NUMBER, TEXT, assert_no_secrets

from idp.delivery import (
    Capability,
    DeliveryError,
    SmsMessage,
    TransportError,
    VoiceCall,
    mask_number,
)
from idp.delivery.outbox import OutboxConfig, OutboxTransport
from idp.delivery.sns import SnsConfig, SnsTransport


@pytest.mark.parametrize("number", ["09012345678", "+0312345678", "+81 90 1234 5678", "+1234",
                                    "+8190123456789012", ""])
def test_messages_refuse_numbers_that_are_not_e164(number: str) -> None:
    with pytest.raises(ValueError, match=r"E\.164") as sms:
        SmsMessage(to=number, text=TEXT, locale="ja")
    with pytest.raises(ValueError, match=r"E\.164") as call:
        VoiceCall(to=number, segments=("1",), locale="ja")
    if number:
        assert number not in str(sms.value)
        assert number not in str(call.value)


def test_repr_hides_number_and_text() -> None:
    shown = [repr(SmsMessage(to=NUMBER, text=TEXT, locale="ja")),
             repr(VoiceCall(to=NUMBER, segments=(TEXT,), locale="en"))]
    assert_no_secrets(shown)
    assert "locale='en'" in shown[1]


def test_a_call_needs_something_to_say() -> None:
    with pytest.raises(ValueError, match="segment"):
        VoiceCall(to=NUMBER, segments=(), locale="ja")


@pytest.mark.parametrize(("number", "masked"), [
    ("+819012345678", "+81******5678"),
    ("+14155550123", "+14*****0123"),
    ("+3361234", "+33*1234"),
    ("090-1234-5678", "(invalid number)"),
])
def test_mask_number(number: str, masked: str) -> None:
    assert mask_number(number) == masked


def test_transport_error_carries_protocol_data() -> None:
    error = TransportError("twilio-jp", "Twilio answered HTTP 429, error 20429", retryable=True,
                           status=429, provider_code="20429")
    assert str(error) == "twilio-jp: Twilio answered HTTP 429, error 20429"
    assert (error.instance, error.retryable, error.status, error.provider_code) == (
        "twilio-jp", True, 429, "20429")


def test_delivery_error_lists_each_failure_in_order() -> None:
    first = TransportError("a", "timed out (ReadTimeout)", retryable=True)
    second = TransportError("b", "gateway answered HTTP 400", retryable=False, status=400)
    error = DeliveryError(Capability.SMS, [first, second])
    assert str(error) == ("sms delivery failed: a: timed out (ReadTimeout); "
                          "b: gateway answered HTTP 400")
    assert error.failures == (first, second)
    assert "no transport configured" in str(DeliveryError(Capability.VOICE, []))


def test_capability_check_explains_what_a_type_supports() -> None:
    config = SnsConfig(region="ap-northeast-1")
    assert SnsTransport.check_capability(config, Capability.SMS) is None
    assert SnsTransport.check_capability(config, Capability.VOICE) == (
        "type 'sns' cannot place voice calls (it supports: sms)")
    assert OutboxTransport.check_capability(OutboxConfig(), Capability.VOICE) is None
