"""docs/delivery.md documents every transport setting, and its verification snippet works."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from idp.delivery import Transport
from idp.delivery.outbox import OutboxTransport
from idp.delivery.sns import SnsTransport
from idp.delivery.twilio import TwilioTransport
from idp.delivery.webhook import WebhookTransport, sign_webhook

DOC = Path(__file__).resolve().parents[2] / "docs" / "delivery.md"


@pytest.mark.parametrize("transport", [OutboxTransport, WebhookTransport, TwilioTransport,
                                       SnsTransport])
def test_every_setting_is_documented(transport: type[Transport[Any]]) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"## `{transport.type_name}`", 1)[1].split("\n## ", 1)[0]
    for name in transport.config_class.model_fields:
        assert f"| `{name}`" in section, f"{transport.type_name}.{name} is not documented"


def test_the_verification_snippet_works() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Verifying the signature", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code[1], namespace)  # noqa: S102 - our own documentation, run to prove it is right
    verify = namespace["verify"]
    secret, body, ts = b"s" * 32, b'{"id": "1"}', str(int(time.time()))
    signature = sign_webhook(secret, ts, body)
    assert verify(secret, ts, body, signature) is True
    assert verify(secret, ts, body + b"x", signature) is False
    assert verify(secret, str(int(ts) - 600), body, sign_webhook(secret, str(int(ts) - 600),
                                                                 body)) is False
