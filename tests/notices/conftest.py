"""One app on loopback per module, sending its notices to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.account.helpers import Site, serve
from tests.notices.smtp_sink import SmtpSink


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("notices")
    with serve(
        tmp,
        delivery={"transports": {"outbox": {"path": str(tmp / "outbox.jsonl")},
                                 "smtp": sink.transport()}},
        notifications={"email": ["smtp"], "poll_s": 0.05, "retry_base_s": 0.2,
                       "retry_max_s": 0.5, "cap_per_window": 5},
    ) as running:
        yield running
