"""Fixtures: one fresh gateway stand-in per test, closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.delivery.gateways import SnsStandIn, TwilioStandIn, WebhookReceiver


@pytest.fixture
def twilio_gateway() -> Iterator[TwilioStandIn]:
    gateway = TwilioStandIn()
    yield gateway
    gateway.close()


@pytest.fixture
def sns_gateway() -> Iterator[SnsStandIn]:
    gateway = SnsStandIn()
    yield gateway
    gateway.close()


@pytest.fixture
def webhook_gateway() -> Iterator[WebhookReceiver]:
    gateway = WebhookReceiver()
    yield gateway
    gateway.close()


@pytest.fixture
def backup_webhook() -> Iterator[WebhookReceiver]:
    """A second, independent gateway: the next instance in a channel."""
    gateway = WebhookReceiver()
    yield gateway
    gateway.close()
