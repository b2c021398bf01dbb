"""The ``outbox`` transport: messages become JSON lines in a file. DEVELOPMENT AND TESTS ONLY.

It stores every text in clear, codes included, so a developer (and the dev-mode outbox
page, and the test suite) can read them. Never configure it in production.

One line per message: ``{"at", "channel", "id", "to", "text" | "segments", "locale"}``; an
email also has ``"subject"`` and ``"html"``.
Several processes may append at once: each append holds an exclusive ``flock``.
"""

from __future__ import annotations

import fcntl
import json
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from idp.delivery import (
    Capability,
    EmailMessage,
    Receipt,
    SmsMessage,
    Transport,
    TransportError,
    VoiceCall,
)
from idp.settings import ConfigModel

__all__ = ["OutboxConfig", "OutboxTransport", "read_outbox"]


class OutboxConfig(ConfigModel):
    # Relative paths are relative to the working directory; parent directories are created.
    path: Path = Path("var/outbox.jsonl")


class OutboxTransport(Transport[OutboxConfig]):
    """Appends each message to ``config.path``. For development and tests only."""

    type_name = "outbox"
    config_class = OutboxConfig
    capabilities = frozenset({Capability.SMS, Capability.VOICE, Capability.EMAIL})

    def send_sms(self, msg: SmsMessage) -> Receipt:
        return self._append({"channel": "sms", "to": msg.to, "text": msg.text,
                             "locale": msg.locale})

    def place_call(self, call: VoiceCall) -> Receipt:
        return self._append({"channel": "voice", "to": call.to,
                             "segments": list(call.segments), "locale": call.locale})

    def send_email(self, msg: EmailMessage) -> Receipt:
        return self._append({"channel": "email", "to": msg.to, "subject": msg.subject,
                             "text": msg.text, "html": msg.html, "locale": msg.locale})

    def _append(self, fields: dict[str, Any]) -> Receipt:
        message_id = uuid.uuid4().hex
        record = {"at": round(time.time(), 3), "id": message_id, **fields}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        path = self.config.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as file:
                # One write under an exclusive lock: lines from several workers never mix.
                fcntl.flock(file, fcntl.LOCK_EX)
                try:
                    file.write(line)
                    file.flush()
                finally:
                    fcntl.flock(file, fcntl.LOCK_UN)
        except OSError as exc:
            raise TransportError(
                self.instance, f"cannot append to the outbox file ({exc.strerror or exc})",
                retryable=False,
            ) from None
        return Receipt(transport=self.instance, provider_id=message_id)


def read_outbox(
    path: Path | str, *, to: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest ``limit`` messages in the outbox at ``path``, newest first, optionally only
    those sent ``to`` one number (or address). A missing file is an empty outbox. For the
    dev outbox page and tests."""
    newest: deque[dict[str, Any]] = deque(maxlen=max(limit, 0))
    try:
        with Path(path).open(encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_SH)
            try:
                for line in file:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by a full disk: skip it, keep the rest
                    if isinstance(record, dict) and (to is None or record.get("to") == to):
                        newest.append(record)
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
    except FileNotFoundError:
        return []
    return list(reversed(newest))
