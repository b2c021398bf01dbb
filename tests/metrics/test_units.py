"""The small pieces of the metrics, on their own: billable units and calling codes, request
ids, the [metrics] settings, closed label sets, and the exporter's view of dead workers."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from idp.delivery.units import calling_code, sms_segments
from idp.metrics.events import Labels
from idp.metrics.exporter import _running
from idp.metrics.http import valid_request_id
from idp.settings import SettingsError
from tests.conftest import make_settings


def test_sms_segments_follow_gsm7_and_ucs2_sizes() -> None:
    assert sms_segments("Your code is 123456") == 1
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("€" * 80) == 1  # extension characters take two septets
    assert sms_segments("€" * 81) == 2
    assert sms_segments("確認コード 123456") == 1
    assert sms_segments("あ" * 70) == 1
    assert sms_segments("あ" * 71) == 2
    assert sms_segments("あ" * 135) == 3


def test_calling_codes_are_assigned_prefixes_or_other() -> None:
    assert calling_code("+819012345678") == "81"
    assert calling_code("+14155550100") == "1"
    assert calling_code("+447700900123") == "44"
    assert calling_code("+3548001234") == "354"
    assert calling_code("+2801234567") == "other"  # +280: spare, no country


def test_request_ids() -> None:
    assert valid_request_id(b"0123456789abcdef") == "0123456789abcdef"
    assert valid_request_id(b"req-2026.12:03_x") == "req-2026.12:03_x"
    for bad in (b"short", b"a" * 129, b"has space here", b"-leading-dash", b"line\nbreak00",
                b"<script>alert(1)</script>", "ユニコード12345".encode()):
        assert valid_request_id(bad) is None


@pytest.mark.parametrize(("values", "message"), [
    ({"listen": "9464"}, "expected host:port"),
    ({"listen": "127.0.0.1:99999"}, "expected host:port"),
    ({"listen": ":9464"}, "expected host:port"),
    ({"sms_prices": {"+81": 0.1}}, "expected a country calling code"),
    ({"voice_prices": {"81": -1.0}}, "cannot be negative"),
])
def test_bad_metrics_settings_are_clear_errors(tmp_path: Path, values: dict[str, object],
                                               message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        make_settings(tmp_path, metrics=values)


def test_labels_come_from_closed_sets(tmp_path: Path) -> None:
    labels = Labels(make_settings(tmp_path, metrics={"sms_prices": {"81": 2.0,
                                                                    "default": 5.0}}))
    labels.bind_clients(lambda client_id: client_id == "tool")
    assert labels.client("tool") == "tool"
    assert labels.client("tool-" + "x" * 20) == "other"
    assert labels.client(None) == "none"
    assert labels.method("totp") == "totp"
    assert labels.method("made-up") == "other"
    assert labels.transport("outbox") == "outbox"
    assert labels.transport("nope") == "other"
    assert labels.country("81") == "81"
    assert labels.country("+81 90") == "other"
    assert labels.price("sms", "81") == 2.0
    assert labels.price("sms", "44") == 5.0
    assert labels.price("voice", "81") == 0.0
    off = Labels(make_settings(tmp_path, metrics={"per_client_labels": False}))
    assert off.client("tool") == "all"


def test_a_zombie_or_gone_process_is_not_running() -> None:
    assert _running(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits at once; not reaped yet
    deadline = 50
    while _running(child.pid) and deadline:
        subprocess.run(["sleep", "0.1"], check=True)
        deadline -= 1
    assert not _running(child.pid)  # a zombie until waited for
    child.wait()
    assert not _running(child.pid)


def test_the_store_gauges_read_pending_logouts_and_key_expiry(tmp_path: Path) -> None:
    from prometheus_client import REGISTRY

    from idp import metrics
    from idp.metrics.gauges import refresh_gauges
    from idp.services import build_services

    settings = make_settings(tmp_path)
    made = metrics.enable(settings)
    with closing(build_services(settings)) as services:
        services.oidc.keys.ring()
        services.oidc.backchannel.enqueue(sid="s", user_id="u", client_ids=[])
        refresh_gauges(made, services.oidc)
    assert REGISTRY.get_sample_value("nidan_backchannel_logout_pending") == 0
    expiry = REGISTRY.get_sample_value("nidan_signing_key_expiry_timestamp_seconds",
                                       {"alg": "RS256"})
    assert expiry == float("inf")  # a current key with no successor has no end


def test_a_taken_metrics_port_is_one_error_line_not_a_stop(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from idp.metrics.exporter import serve_metrics

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(tmp_path, metrics={"listen": f"127.0.0.1:{port}"})
        saved = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        try:
            assert serve_metrics(settings.metrics) is None
            assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
        finally:
            if saved is not None:
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
