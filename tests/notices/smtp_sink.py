"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, parsed as MIME.

It can be stopped and started again on the same port, so a test can show that a notice
waits in the store while the relay is down and arrives once it is back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.live_server import free_port


@dataclass
class Received:
    to: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        content: str = body.get_content()
        return content


class SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.sink.lock:
            self.sink.received.append(Received(list(envelope.rcpt_tos), parsed, raw))
        return "250 OK"


@dataclass
class SmtpSink:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(SinkHandler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.to]

    def wait_for(self, address: str, count: int = 1, timeout_s: float = 15.0
                 ) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{len(self.to(address))} message(s) to {address}, "
                             f"expected {count}")

    def transport(self) -> dict[str, object]:
        """The ``[delivery.transports.smtp]`` of a test: plain SMTP to loopback."""
        return {"host": "127.0.0.1", "port": self.port, "starttls": False,
                "from_address": "Nidan <no-reply@id.example.com>", "timeout_s": 2,
                "retries": 0}
