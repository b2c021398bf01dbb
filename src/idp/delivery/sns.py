"""The ``sns`` transport: AWS SNS ``Publish`` straight to a phone number. SMS only.

Needs boto3, an optional extra: ``pip install 'nidan[sns]'``. Credentials are the
``access_key_id`` / ``secret_access_key`` pair when given, else boto3's default chain (an
instance role, IRSA on EKS, ...). botocore's own retries are off; this transport retries
throttling, 5xx and timeouts itself, like the others, and then lets the channel move on.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from idp.delivery import (
    Capability,
    DeliveryConfigError,
    Receipt,
    SmsMessage,
    Transport,
    TransportError,
)
from idp.delivery._retry import with_retries
from idp.settings import ConfigModel

__all__ = ["RETRYABLE_CODES", "SnsConfig", "SnsTransport"]

# AWS error codes that a later identical request may cure: throttling (SNS's own "Throttled"
# is HTTP 429; the Query protocol's generic "Throttling" is 400) and service-side failures.
# Everything else (InvalidParameter, OptedOut, AuthorizationError, ...) is final.
RETRYABLE_CODES = frozenset({
    "Throttled", "Throttling", "ThrottlingException", "RequestLimitExceeded",
    "TooManyRequestsException", "KMSThrottling", "InternalError", "InternalFailure",
    "ServiceUnavailable",
})


class SnsConfig(ConfigModel):
    region: str
    # For tests and private (VPC) endpoints; default: the region's public endpoint.
    endpoint_url: str | None = None
    # Both or neither; neither means boto3's default credential chain.
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    # Alphanumeric sender shown on the phone, where the destination country allows one.
    sender_id: str | None = None
    # Transactional: delivery reliability over cost, as one-time codes need.
    sms_type: Literal["Transactional", "Promotional"] = "Transactional"
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Further tries after throttling, a 5xx or a timeout.
    retries: int = Field(default=1, ge=0, le=10)
    backoff_s: float = Field(default=0.2, ge=0, le=10)

    @field_validator("sender_id")
    @classmethod
    def _sender_id(cls, value: str | None) -> str | None:
        # AWS: 1-11 letters and digits, at least one letter, no spaces.
        if value is not None and not (re.fullmatch(r"[A-Za-z0-9]{1,11}", value)
                                      and re.search(r"[A-Za-z]", value)):
            raise ValueError("1 to 11 letters and digits, at least one letter")
        return value

    @model_validator(mode="after")
    def _key_pair(self) -> SnsConfig:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give both access_key_id and secret_access_key, or neither")
        return self


class SnsTransport(Transport[SnsConfig]):
    """Publishes each SMS with ``sns.publish(PhoneNumber=..., Message=...)``."""

    type_name = "sns"
    config_class = SnsConfig
    capabilities = frozenset({Capability.SMS})

    def __init__(self, config: SnsConfig, *, instance: str) -> None:
        super().__init__(config, instance=instance)
        try:
            # Imported here so the core runs without boto3 unless sns is configured.
            import boto3
            from botocore.config import Config
        except ImportError:
            raise DeliveryConfigError(
                ["the sns transport needs boto3: install nidan[sns]"]
            ) from None
        session = boto3.session.Session(
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=(config.secret_access_key.get_secret_value()
                                   if config.secret_access_key else None),
            region_name=config.region,
        )
        self._client: Any = session.client(
            "sns",
            endpoint_url=config.endpoint_url,
            config=Config(
                connect_timeout=config.timeout_s,
                read_timeout=config.timeout_s,
                retries={"total_max_attempts": 1},  # ours, below: one policy for all
            ),
        )
        attributes: dict[str, str] = {"AWS.SNS.SMS.SMSType": config.sms_type}
        if config.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = config.sender_id
        self._attributes = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in attributes.items()
        }

    def send_sms(self, msg: SmsMessage) -> Receipt:
        message_id = with_retries(lambda: self._publish(msg),
                                  retries=self.config.retries, backoff_s=self.config.backoff_s)
        return Receipt(transport=self.instance, provider_id=message_id)

    def close(self) -> None:
        self._client.close()

    def _publish(self, msg: SmsMessage) -> str | None:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            HTTPClientError,
            ReadTimeoutError,
        )
        from botocore.exceptions import ConnectionError as BotoConnectionError

        try:
            response = self._client.publish(
                PhoneNumber=msg.to, Message=msg.text, MessageAttributes=self._attributes
            )
        except ClientError as exc:
            # exc's own text quotes AWS's message, which can quote the number: not kept.
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "")) or None
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            retryable = code in RETRYABLE_CODES or (
                isinstance(status, int) and (status == 429 or status >= 500))
            raise TransportError(
                self.instance, f"SNS answered HTTP {status}, error {code}",
                retryable=retryable, status=status if isinstance(status, int) else None,
                provider_code=code,
            ) from None
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise TransportError(self.instance, f"timed out ({type(exc).__name__})",
                                 retryable=True) from None
        except (BotoConnectionError, HTTPClientError) as exc:
            raise TransportError(self.instance, f"no connection ({type(exc).__name__})",
                                 retryable=True) from None
        except BotoCoreError as exc:  # no credentials, bad parameters, ...: config problems
            raise TransportError(self.instance, f"AWS client error ({type(exc).__name__})",
                                 retryable=False) from None
        message_id = response.get("MessageId")
        return message_id if isinstance(message_id, str) else None
