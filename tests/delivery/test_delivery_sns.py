"""The SNS transport (real boto3) against a loopback server speaking the SNS Query API."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from tests.delivery.gateways import (
    HANG,
    NUMBER,
    SMS,
    SNS_KEY_ID,
    SNS_REGION,
    SNS_SECRET,
    TEXT,
    SnsStandIn,
    assert_no_secrets,
    refused,
    sns_error,
)

from idp.delivery import DeliveryConfigError
from idp.delivery.sns import SnsConfig, SnsTransport


def sns(gateway: SnsStandIn, **overrides: Any) -> SnsTransport:
    values: dict[str, Any] = {
        "region": SNS_REGION, "endpoint_url": gateway.url, "access_key_id": SNS_KEY_ID,
        "secret_access_key": SNS_SECRET, "timeout_s": 2, "backoff_s": 0.01, **overrides,
    }
    return SnsTransport(SnsConfig.model_validate(values), instance="sns-tokyo")


def test_publish_reaches_the_api_signed_with_its_attributes(sns_gateway: SnsStandIn) -> None:
    transport = sns(sns_gateway, sender_id="Nidan")
    receipt = transport.send_sms(SMS)
    transport.close()

    [request] = sns_gateway.requests
    assert request.path == "/"
    assert request.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={SNS_KEY_ID}/")
    form = request.form
    assert (form["Action"], form["Version"]) == ("Publish", "2010-03-31")
    assert (form["PhoneNumber"], form["Message"]) == (NUMBER, TEXT)
    [published] = sns_gateway.published
    assert published["attributes"] == {
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
        "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "Nidan"},
    }
    assert receipt.provider_id == published["id"]
    assert receipt.transport == "sns-tokyo"


def test_sms_type_and_no_sender_id(sns_gateway: SnsStandIn) -> None:
    transport = sns(sns_gateway, sms_type="Promotional")
    transport.send_sms(SMS)
    transport.close()
    assert sns_gateway.published[0]["attributes"] == {
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"}}


def test_invalid_parameter_is_final_and_not_quoted(
    sns_gateway: SnsStandIn, caplog: pytest.LogCaptureFixture,
) -> None:
    sns_gateway.script(sns_error(400, "InvalidParameter",
                                 f"Invalid parameter: PhoneNumber Reason: {NUMBER} is not valid"))
    transport = sns(sns_gateway, retries=2)
    error = refused(transport)
    assert len(sns_gateway.requests) == 1
    assert (error.status, error.provider_code, error.retryable) == (400, "InvalidParameter", False)
    assert str(error) == "sns-tokyo: SNS answered HTTP 400, error InvalidParameter"
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert_no_secrets([str(error), *caplog.messages], SNS_SECRET)


@pytest.mark.parametrize(("status", "code", "fault"), [
    (400, "Throttling", "Sender"),
    (429, "Throttled", "Sender"),
    (500, "InternalError", "Receiver"),
])
def test_throttling_and_server_faults_are_retried(
    sns_gateway: SnsStandIn, status: int, code: str, fault: str,
) -> None:
    sns_gateway.script(sns_error(status, code, "Rate exceeded", fault))
    transport = sns(sns_gateway, retries=1)
    receipt = transport.send_sms(SMS)
    assert len(sns_gateway.requests) == 2
    assert receipt.provider_id == sns_gateway.published[0]["id"]

    sns_gateway.script(*[sns_error(status, code, "Rate exceeded", fault)] * 2)
    error = refused(transport)
    assert len(sns_gateway.requests) == 4  # botocore's own retries are off: ours only
    assert (error.status, error.provider_code, error.retryable) == (
        status, code, True)


def test_an_unknown_key_is_refused(sns_gateway: SnsStandIn) -> None:
    transport = sns(sns_gateway, access_key_id="AKIAWRONGWRONGWRONG1", retries=2)
    error = refused(transport)
    assert len(sns_gateway.requests) == 1
    assert (error.status, error.provider_code, error.retryable) == (
        403, "InvalidClientTokenId", False)
    assert_no_secrets([str(error)], SNS_SECRET)


def test_a_hanging_endpoint_times_out(sns_gateway: SnsStandIn) -> None:
    sns_gateway.script(HANG)
    transport = sns(sns_gateway, timeout_s=0.2, retries=0)
    error = refused(transport, "timed out")
    assert error.retryable is True
    assert len(sns_gateway.requests) == 1


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="both access_key_id and secret_access_key"):
        SnsConfig.model_validate({"region": SNS_REGION, "access_key_id": SNS_KEY_ID})
    with pytest.raises(ValueError, match="letters and digits"):
        SnsConfig.model_validate({"region": SNS_REGION, "sender_id": "12345"})
    with pytest.raises(ValueError, match="letters and digits"):
        SnsConfig.model_validate({"region": SNS_REGION, "sender_id": "TooLongSender"})
    assert SnsConfig.model_validate({"region": SNS_REGION}).sms_type == "Transactional"


def test_missing_boto3_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` meets without it
    with pytest.raises(DeliveryConfigError) as caught:
        SnsTransport(SnsConfig(region=SNS_REGION), instance="sns")
    assert caught.value.lines == ("the sns transport needs boto3: install nidan[sns]",)
