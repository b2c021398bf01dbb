"""The development outbox: JSON lines in a real file, safe with several writer processes."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tests.delivery.gateways import NUMBER, TEXT

from idp.delivery import SmsMessage, TransportError, VoiceCall
from idp.delivery.outbox import OutboxConfig, OutboxTransport, read_outbox

OTHER = "+818012345678"


def outbox(path: Path) -> OutboxTransport:
    return OutboxTransport(OutboxConfig(path=path), instance="dev-phone")


def test_messages_become_json_lines_in_new_directories(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deep" / "outbox.jsonl"
    transport = outbox(path)
    sms = transport.send_sms(SmsMessage(to=NUMBER, text=TEXT, locale="ja"))
    call = transport.place_call(VoiceCall(to=NUMBER, segments=("4", "8", "<2>"), locale="en"))

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [set(line) for line in lines] == [
        {"at", "id", "channel", "to", "text", "locale"},
        {"at", "id", "channel", "to", "segments", "locale"},
    ]
    assert lines[0] | {"at": 0} == {"at": 0, "id": sms.provider_id, "channel": "sms",
                                    "to": NUMBER, "text": TEXT, "locale": "ja"}
    assert lines[1]["segments"] == ["4", "8", "<2>"]
    assert lines[1]["channel"] == "voice"
    assert lines[1]["id"] == call.provider_id
    assert sms.transport == "dev-phone"
    assert sms.provider_id != call.provider_id


def test_read_outbox_is_newest_first_filtered_and_limited(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    transport = outbox(path)
    for n in range(5):
        transport.send_sms(SmsMessage(to=NUMBER if n % 2 == 0 else OTHER, text=f"m{n}",
                                      locale="ja"))
    assert [m["text"] for m in read_outbox(path)] == ["m4", "m3", "m2", "m1", "m0"]
    assert [m["text"] for m in read_outbox(path, to=NUMBER)] == ["m4", "m2", "m0"]
    assert [m["text"] for m in read_outbox(str(path), to=OTHER, limit=1)] == ["m3"]
    assert read_outbox(path, limit=0) == []


def test_read_outbox_of_a_missing_file_is_empty_and_skips_torn_lines(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "none.jsonl") == []
    path = tmp_path / "outbox.jsonl"
    outbox(path).send_sms(SmsMessage(to=NUMBER, text="whole", locale="ja"))
    with path.open("a", encoding="utf-8") as file:
        file.write('{"to": "+8190')  # a write cut short by a full disk
    assert [m["text"] for m in read_outbox(path)] == ["whole"]


def test_an_unwritable_outbox_is_a_transport_error(tmp_path: Path) -> None:
    transport = outbox(tmp_path)  # a directory, not a file
    with pytest.raises(TransportError, match="cannot append to the outbox file") as caught:
        transport.send_sms(SmsMessage(to=NUMBER, text=TEXT, locale="ja"))
    assert caught.value.retryable is False
    assert TEXT not in str(caught.value)


WRITER = """
import sys
from pathlib import Path
from idp.delivery import SmsMessage
from idp.delivery.outbox import OutboxConfig, OutboxTransport
transport = OutboxTransport(OutboxConfig(path=Path(sys.argv[1])), instance="outbox")
for n in range(int(sys.argv[3])):
    transport.send_sms(SmsMessage(to="+819012345678", text=sys.argv[2] * 2000 + str(n),
                                  locale="ja"))
"""


def test_several_processes_append_without_mixing_lines(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), letter, "40"])
               for letter in "abcd"]
    assert [writer.wait(60) for writer in writers] == [0, 0, 0, 0]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 160
    texts = [json.loads(line)["text"] for line in lines]  # every line is whole JSON
    for letter in "abcd":
        mine = sorted(int(t[2000:]) for t in texts if t.startswith(letter * 2000))
        assert mine == list(range(40))


def test_an_append_waits_for_the_file_lock(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    path.touch()
    inode = path.stat().st_ino
    transport = outbox(path)
    with path.open("a", encoding="utf-8") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)  # another worker is mid-append
        sender = threading.Thread(
            target=transport.send_sms, args=(SmsMessage(to=NUMBER, text="m", locale="ja"),))
        sender.start()
        # The kernel lists a blocked flock as "-> FLOCK ..." in /proc/locks: wait for ours.
        deadline = time.monotonic() + 10
        while not any("->" in line and f":{inode} " in line
                      for line in Path("/proc/locks").read_text().splitlines()):
            assert time.monotonic() < deadline, "the append never waited for the lock"
            time.sleep(0.005)
        assert path.read_text(encoding="utf-8") == ""
        fcntl.flock(holder, fcntl.LOCK_UN)
    sender.join(10)
    assert [m["text"] for m in read_outbox(path)] == ["m"]
