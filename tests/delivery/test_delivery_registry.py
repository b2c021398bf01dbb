"""Loading ``[delivery]`` through entry points, and ordered failover per channel."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from tests.delivery.gateways import (
    NUMBER,
    TEXT,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEBHOOK_SECRET,
    Reply,
    TwilioStandIn,
    WebhookReceiver,
    assert_no_secrets,
    twilio_error,
)

from idp.delivery import (
    Capability,
    DeliveryConfigError,
    DeliveryError,
    Receipt,
    SmsMessage,
    Transport,
    VoiceCall,
)
from idp.delivery.outbox import read_outbox
from idp.delivery.registry import (
    ENTRY_POINT_GROUP,
    Delivery,
    _load_class,
    installed_transports,
    load_transports,
)
from idp.delivery.webhook import WebhookConfig, WebhookTransport
from idp.observability import Audit, AuditEvent
from idp.settings import ConfigModel, DeliverySettings

SMS = SmsMessage(to=NUMBER, text=TEXT, locale="ja")
CALL = VoiceCall(to=NUMBER, segments=("4", "8", "2", "9", "1", "3"), locale="ja")


def settings(**values: Any) -> DeliverySettings:
    return DeliverySettings.model_validate(values)


def hook(gateway: WebhookReceiver, **overrides: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": gateway.url, "secret": WEBHOOK_SECRET, "timeout_s": 2,
            "backoff_s": 0.01, **overrides}


def failover(primary: WebhookReceiver, backup: WebhookReceiver, *, retries: int,
             channel: str = "sms", audit: Audit | None = None) -> Delivery:
    """``channel`` through two webhook instances in turn: ``primary``, then ``backup``."""
    channels: dict[str, list[str]] = {"sms": [], "voice": [], channel: ["primary", "backup"]}
    return load_transports(settings(**channels, transports={
        "primary": hook(primary, retries=retries), "backup": hook(backup)}), audit=audit)


def audited() -> tuple[Audit, list[AuditEvent]]:
    """An audit stream and the events it records."""
    events: list[AuditEvent] = []
    audit = Audit()
    audit.listeners.append(events.append)
    return audit, events


def config_error(**values: Any) -> tuple[str, ...]:
    with pytest.raises(DeliveryConfigError) as caught:
        load_transports(settings(**values))
    assert str(caught.value) == "\n".join(caught.value.lines)
    assert all("\n" not in line for line in caught.value.lines)
    return caught.value.lines


def test_defaults_send_both_channels_to_the_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # the default path is relative: var/outbox.jsonl
    delivery = load_transports(DeliverySettings())
    assert delivery.channels == {Capability.SMS, Capability.VOICE}
    assert delivery.instances(Capability.SMS) == ("outbox",)
    delivery.send_sms(SMS)
    delivery.place_call(CALL)
    delivery.close()
    assert [m["channel"] for m in read_outbox(tmp_path / "var" / "outbox.jsonl")] == [
        "voice", "sms"]


def test_an_unknown_type_names_the_installed_ones() -> None:
    [line] = config_error(sms=["carrier"], voice=[], transports={"carrier": {}})
    assert line.startswith("delivery.transports.carrier: unknown transport type 'carrier' "
                           "(installed: ")
    for name in ("outbox", "sns", "twilio", "webhook"):
        assert name in line.split("installed: ")[1]
    [line] = config_error(sms=["x"], voice=[], transports={"x": {"type": "twillio"}})
    assert line.startswith("delivery.transports.x.type: unknown transport type 'twillio'")


def test_invalid_transport_config_names_the_key_and_hides_values() -> None:
    lines = config_error(sms=["twilio"], voice=[], transports={
        "twilio": {"auth_token": "tok-secret-123", "from_number": TWILIO_FROM}})
    assert lines == ("delivery.transports.twilio.account_sid: field required",)
    lines = config_error(sms=["outbox"], voice=[], transports={
        "outbox": {"path": "x.jsonl", "colour": "red"}})
    assert lines == ("delivery.transports.outbox.colour: unknown setting",)
    lines = config_error(sms=["gw"], voice=[], transports={
        "gw": {"type": "webhook", "url": "https://gw.example", "secret": "short-secret-value"}})
    assert lines == ("delivery.transports.gw.secret: must be at least 32 bytes "
                     "(e.g. `openssl rand -hex 32`)",)
    assert_no_secrets(list(lines), "short-secret-value", "tok-secret-123")


def test_channels_must_name_defined_and_capable_instances() -> None:
    lines = config_error(
        sms=["outbox", "missing", "outbox"],
        voice=["sns", "twilio"],
        transports={
            "outbox": {},
            "sns": {"region": "ap-northeast-1"},
            "twilio": {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                       "messaging_service_sid": "MG" + "0" * 32},
        },
    )
    assert lines == (
        "delivery.sms: transport instance 'missing' is not defined under delivery.transports "
        "(defined: outbox, sns, twilio)",
        "delivery.sms: transport instance 'outbox' is listed twice",
        "delivery.voice: transport instance 'sns': type 'sns' cannot place voice calls "
        "(it supports: sms)",
        "delivery.voice: transport instance 'twilio': voice calls need from_number "
        "(messaging_service_sid serves SMS only)",
    )


def test_every_problem_is_reported_at_once() -> None:
    lines = config_error(sms=["a", "b"], voice=["c"], transports={
        "a": {"type": "nope"}, "b": {"type": "webhook"}})
    assert lines[0].startswith("delivery.transports.a.type: unknown transport type 'nope'")
    assert set(lines[1:]) == {
        "delivery.transports.b.url: field required",
        "delivery.transports.b.secret: field required",
        "delivery.voice: transport instance 'c' is not defined under delivery.transports "
        "(defined: a, b)",
    }


def test_a_5xx_fails_over_to_the_next_instance(
    webhook_gateway: WebhookReceiver, backup_webhook: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    audit, events = audited()
    webhook_gateway.script(*[Reply(500)] * 3)
    delivery = failover(webhook_gateway, backup_webhook, retries=2, audit=audit)
    receipt = delivery.send_sms(SMS)
    delivery.close()

    assert receipt.transport == "backup"
    assert len(webhook_gateway.requests) == 3  # its own retries first
    assert [m["id"] for m in backup_webhook.accepted] == [receipt.provider_id]
    assert [(e["event"], e["instance"]) for e in events] == [
        ("delivery.failed", "primary"), ("delivery.sent", "backup")]
    failed, sent = events
    assert (failed["status"], failed["retryable"], failed["channel"]) == (500, True, "sms")
    assert failed["phone"] == "+81******5678"
    assert sent["fallback"] is True
    assert_no_secrets(caplog.messages + [str(e) for e in events], WEBHOOK_SECRET)


def test_a_4xx_moves_on_without_retrying_the_same_instance(
    webhook_gateway: WebhookReceiver, backup_webhook: WebhookReceiver,
) -> None:
    webhook_gateway.script(Reply(400))
    delivery = failover(webhook_gateway, backup_webhook, retries=2, channel="voice")
    receipt = delivery.place_call(CALL)
    delivery.close()
    assert len(webhook_gateway.requests) == 1
    assert receipt.transport == "backup"
    assert backup_webhook.accepted[0]["segments"] == list(CALL.segments)


def test_twilio_failure_falls_back_to_the_outbox(
    twilio_gateway: TwilioStandIn, tmp_path: Path,
) -> None:
    twilio_gateway.script(twilio_error(401, 20003, "Authenticate"))
    delivery = load_transports(settings(sms=["twilio", "outbox"], voice=[], transports={
        "twilio": {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                   "from_number": TWILIO_FROM, "api_base": twilio_gateway.url},
        "outbox": {"path": str(tmp_path / "outbox.jsonl")},
    }))
    receipt = delivery.send_sms(SMS)
    delivery.close()
    assert receipt.transport == "outbox"
    assert len(twilio_gateway.requests) == 1
    assert read_outbox(tmp_path / "outbox.jsonl")[0]["text"] == TEXT


def test_when_all_fail_the_error_lists_each_and_leaks_nothing(
    webhook_gateway: WebhookReceiver, backup_webhook: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    audit, events = audited()
    webhook_gateway.script(Reply(503), Reply(503))
    backup_webhook.script(Reply(422))
    delivery = failover(webhook_gateway, backup_webhook, retries=1, audit=audit)
    with pytest.raises(DeliveryError) as caught:
        delivery.send_sms(SMS)
    delivery.close()
    error = caught.value
    assert str(error) == ("sms delivery failed: primary: gateway answered HTTP 503; "
                          "backup: gateway answered HTTP 422")
    assert [(f.instance, f.status, f.retryable) for f in error.failures] == [
        ("primary", 503, True), ("backup", 422, False)]
    assert [e["event"] for e in events] == ["delivery.failed", "delivery.failed"]
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert_no_secrets([str(error), *caplog.messages, *map(str, events)], WEBHOOK_SECRET)


class _Exploding(Transport[ConfigModel]):
    """A plugin transport with a bug."""

    type_name = "exploding"
    config_class = ConfigModel
    capabilities = frozenset({Capability.SMS})

    def send_sms(self, msg: SmsMessage) -> Receipt:
        raise RuntimeError(f"bug while sending {msg.text} to {msg.to}")


def test_a_buggy_transport_does_not_stop_the_failover(
    webhook_gateway: WebhookReceiver, caplog: pytest.LogCaptureFixture,
) -> None:
    broken = _Exploding(ConfigModel(), instance="broken")
    values = {k: v for k, v in hook(webhook_gateway).items() if k != "type"}
    working = WebhookTransport(WebhookConfig.model_validate(values), instance="working")
    delivery = Delivery({Capability.SMS: [broken, working]})
    receipt = delivery.send_sms(SMS)
    assert receipt.transport == "working"
    assert delivery.channels == {Capability.SMS}
    with pytest.raises(DeliveryError, match="no transport configured"):
        delivery.place_call(CALL)
    delivery.close()
    assert any("unexpected error (RuntimeError)" in m for m in caplog.messages)
    assert_no_secrets(caplog.messages)


def _entry(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_installed_transports_are_the_four_built_ins_at_least() -> None:
    installed = installed_transports()
    assert {name: [ep.value for ep in eps] for name, eps in installed.items()
            if name in ("outbox", "webhook", "twilio", "sns")} == {
        "outbox": ["idp.delivery.outbox:OutboxTransport"],
        "webhook": ["idp.delivery.webhook:WebhookTransport"],
        "twilio": ["idp.delivery.twilio:TwilioTransport"],
        "sns": ["idp.delivery.sns:SnsTransport"],
    }


@pytest.mark.parametrize(("entries", "expected"), [
    ([_entry("carrier", "no_such_module_xyz:Carrier")],
     "where: transport type 'carrier' (no_such_module_xyz:Carrier) failed to import: "
     "ModuleNotFoundError: No module named 'no_such_module_xyz'"),
    ([_entry("carrier", "pathlib:Path")],
     "where: pathlib:Path is not a subclass of idp.delivery.Transport"),
    ([_entry("carrier", f"{__name__}:_Exploding")],
     f"where: {__name__}:_Exploding has type_name 'exploding', but its entry point is "
     "'carrier'"),
    ([_entry("carrier", "a:A"), _entry("carrier", "b:B")],
     "where: transport type 'carrier' is registered twice (a:A, b:B)"),
])
def test_broken_plugins_are_named_with_the_fix(entries: list[EntryPoint], expected: str) -> None:
    assert _load_class("where", "carrier", {"carrier": entries}) == expected
    assert _load_class("where", "exploding", {"exploding": [
        _entry("exploding", f"{__name__}:_Exploding")]}) is _Exploding
