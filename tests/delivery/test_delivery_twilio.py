"""The Twilio transport against a loopback server speaking Twilio's REST wire format."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from tests.delivery.gateways import (
    HANG,
    NUMBER,
    SMS,
    TEXT,
    TWILIO_FROM,
    TWILIO_SERVICE,
    TWILIO_SID,
    TWILIO_TOKEN,
    TwilioStandIn,
    assert_no_secrets,
    refused,
    twilio_error,
)

from idp.delivery import TransportError, VoiceCall
from idp.delivery.twilio import TwilioConfig, TwilioTransport, build_twiml

MESSAGES = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
CALLS = f"/2010-04-01/Accounts/{TWILIO_SID}/Calls.json"


def twilio(gateway: TwilioStandIn, **overrides: Any) -> TwilioTransport:
    values: dict[str, Any] = {
        "account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN, "from_number": TWILIO_FROM,
        "api_base": gateway.url, "timeout_s": 2, "backoff_s": 0.01, **overrides,
    }
    return TwilioTransport(TwilioConfig.model_validate(values), instance="twilio-jp")


def test_sms_is_a_form_post_to_messages_with_basic_auth(twilio_gateway: TwilioStandIn) -> None:
    transport = twilio(twilio_gateway)
    receipt = transport.send_sms(SMS)
    transport.close()

    [request] = twilio_gateway.requests
    assert request.path == MESSAGES
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    user, token = base64.b64decode(request.headers["authorization"].removeprefix("Basic "))\
        .decode().split(":")
    assert (user, token) == (TWILIO_SID, TWILIO_TOKEN)
    assert request.form == {"To": NUMBER, "From": TWILIO_FROM, "Body": TEXT}
    assert receipt.transport == "twilio-jp"
    assert receipt.provider_id is not None
    assert receipt.provider_id.startswith("SM")
    assert len(receipt.provider_id) == 34


def test_sms_through_a_messaging_service_sends_no_from(twilio_gateway: TwilioStandIn) -> None:
    transport = twilio(twilio_gateway, from_number=None, messaging_service_sid=TWILIO_SERVICE)
    transport.send_sms(SMS)
    transport.close()
    assert twilio_gateway.requests[0].form == {"To": NUMBER, "Body": TEXT,
                                               "MessagingServiceSid": TWILIO_SERVICE}


def test_a_call_speaks_each_segment_in_the_callers_language(
    twilio_gateway: TwilioStandIn,
) -> None:
    transport = twilio(twilio_gateway)
    segments = ("4, 8, 2", "<Hangup/> & \"quoted\" 'too'", "繰り返します")
    receipt = transport.place_call(VoiceCall(to=NUMBER, segments=segments, locale="ja"))
    english = transport.place_call(VoiceCall(to=NUMBER, segments=("1",), locale="en"))
    transport.close()

    first, second = twilio_gateway.requests
    assert first.path == CALLS
    assert set(first.form) == {"To", "From", "Twiml"}
    assert (first.form["To"], first.form["From"]) == (NUMBER, TWILIO_FROM)
    twiml = twilio_gateway.twiml[0]
    assert twiml.tag == "Response"
    assert [child.tag for child in twiml] == ["Say", "Pause", "Say", "Pause", "Say"]
    assert [say.text for say in twiml.iter("Say")] == list(segments)  # escaped, not markup
    assert {say.get("language") for say in twiml.iter("Say")} == {"ja-JP"}
    assert {pause.get("length") for pause in twiml.iter("Pause")} == {"1"}
    assert [say.get("language") for say in twilio_gateway.twiml[1].iter("Say")] == ["en-US"]
    assert receipt.provider_id is not None
    assert receipt.provider_id.startswith("CA")
    assert english.provider_id != receipt.provider_id
    assert second.path == CALLS


def test_voice_languages_are_configurable(twilio_gateway: TwilioStandIn) -> None:
    transport = twilio(twilio_gateway, voice_language_ja="ja-JP-x-custom",
                       voice_language_en="en-GB")
    transport.place_call(VoiceCall(to=NUMBER, segments=("1",), locale="en"))
    transport.place_call(VoiceCall(to=NUMBER, segments=("1",), locale="ja"))
    transport.close()
    languages = [next(twiml.iter("Say")).get("language") for twiml in twilio_gateway.twiml]
    assert languages == ["en-GB", "ja-JP-x-custom"]


def test_build_twiml_escapes() -> None:
    assert build_twiml(("a<b", "c&d"), 'x"y') == (
        '<Response><Say language="x&quot;y">a&lt;b</Say><Pause length="1"/>'
        "<Say language=\"x&quot;y\">c&amp;d</Say></Response>")


@pytest.mark.parametrize(("bad", "code"), [("invalid", "21211"), ("not_mobile", "21614")])
def test_a_refused_number_is_final_and_not_quoted(
    twilio_gateway: TwilioStandIn, caplog: pytest.LogCaptureFixture, bad: str, code: str,
) -> None:
    getattr(twilio_gateway, bad).add(NUMBER)
    transport = twilio(twilio_gateway, retries=2)
    error = refused(transport)
    assert len(twilio_gateway.requests) == 1  # no retry
    assert (error.status, error.provider_code, error.retryable) == (400, code, False)
    assert str(error) == (f"twilio-jp: Twilio answered HTTP 400, error {code} "
                          f"(https://www.twilio.com/docs/errors/{code})")
    assert_no_secrets([str(error), *caplog.messages], TWILIO_TOKEN)


def test_wrong_credentials_are_final_and_not_quoted(twilio_gateway: TwilioStandIn) -> None:
    transport = twilio(twilio_gateway, auth_token="wrong-token-0123456789abcdef", retries=2)
    error = refused(transport)
    assert len(twilio_gateway.requests) == 1
    assert (error.status, error.provider_code) == (401, "20003")
    assert error.retryable is False
    assert_no_secrets([str(error)], "wrong-token-0123456789abcdef", TWILIO_TOKEN)


def test_429_and_5xx_are_retried(twilio_gateway: TwilioStandIn) -> None:
    twilio_gateway.script(twilio_error(429, 20429, "Too Many Requests"),
                          twilio_error(503, 20503, "Service Unavailable"))
    transport = twilio(twilio_gateway, retries=2)
    receipt = transport.send_sms(SMS)
    transport.close()
    assert len(twilio_gateway.requests) == 3
    assert receipt.provider_id is not None


def test_retries_are_bounded(twilio_gateway: TwilioStandIn) -> None:
    twilio_gateway.script(*[twilio_error(500, 20500, "Internal Server Error")] * 3)
    transport = twilio(twilio_gateway, retries=1)
    with pytest.raises(TransportError) as caught:
        transport.place_call(VoiceCall(to=NUMBER, segments=("1",), locale="ja"))
    transport.close()
    assert len(twilio_gateway.requests) == 2
    assert (caught.value.status, caught.value.provider_code, caught.value.retryable) == (
        500, "20500", True)


def test_a_hanging_api_times_out(twilio_gateway: TwilioStandIn) -> None:
    twilio_gateway.script(HANG, HANG)
    transport = twilio(twilio_gateway, timeout_s=0.2, retries=1)
    error = refused(transport, "timed out")
    assert len(twilio_gateway.requests) == 2
    assert error.retryable is True


def test_config_needs_a_sender_and_a_real_account_sid() -> None:
    base = {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN}
    with pytest.raises(ValueError, match="from_number or messaging_service_sid"):
        TwilioConfig.model_validate(base)
    with pytest.raises(ValueError, match="account_sid"):
        TwilioConfig.model_validate({**base, "account_sid": "AC123", "from_number": "+1"})
    config = TwilioConfig.model_validate({**base, "from_number": TWILIO_FROM,
                                          "api_base": "http://127.0.0.1:9/"})
    assert config.api_base == "http://127.0.0.1:9"
    assert TWILIO_TOKEN not in repr(config)
