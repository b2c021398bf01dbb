"""Stand-ins for the paid gateways, speaking their real wire formats on 127.0.0.1.

Each is a stdlib ``ThreadingHTTPServer`` in a thread that records every request it receives
(tests assert on what arrived, not on what we meant to send) and answers as the real service
does: Twilio's REST API 2010-04-01 (JSON bodies, JSON errors ``{code, message, more_info,
status}``), the SNS Query API 2010-03-31 (form-encoded ``Action=Publish``, XML
``PublishResponse`` / ``ErrorResponse``), and an operator's webhook gateway that checks the
Nidan signature. ``script()`` queues canned failures; ``HANG`` holds a request past any
client timeout.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections import deque
from contextlib import closing
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import pytest

from idp.delivery import SmsMessage, Transport, TransportError
from idp.delivery.webhook import verify_webhook_signature

E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class Recorded:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


HANG: Final = Reply(status=0)  # scripted: hold the request until the stand-in closes


class StandIn:
    """Base: serve, record, and pop scripted replies before the normal handling."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded(
                    method="POST", path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                reply = stand_in._take(recorded)
                if reply is HANG:
                    stand_in._release.wait(10)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and left is expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits up to one interval (default 0.5 s).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order, before normal handling resumes."""
        with self._lock:
            self._script.extend(replies)

    def _take(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            scripted = self._script.popleft() if self._script else None
        return scripted if scripted is not None else self.handle(recorded)

    def handle(self, request: Recorded) -> Reply:
        raise NotImplementedError

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


# --- Twilio REST API 2010-04-01 -----------------------------------------------------------

TWILIO_SID = "AC" + "a1" * 16
TWILIO_TOKEN = "twilio-test-auth-token-0123456789"
TWILIO_FROM = "+15005550006"
TWILIO_SERVICE = "MG" + "b2" * 16


def twilio_error(status: int, code: int, message: str) -> Reply:
    """Twilio's error body, as its API returns it."""
    body = {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    headers = (("WWW-Authenticate", 'Basic realm="Twilio API"'),) if status == 401 else ()
    return Reply(status, json.dumps(body).encode(), headers=headers)


class TwilioStandIn(StandIn):
    """Messages.json and Calls.json of one account (``TWILIO_SID`` / ``TWILIO_TOKEN``)."""

    def __init__(self) -> None:
        super().__init__()
        self.not_mobile: set[str] = set()  # numbers that get 21614 for SMS (landlines)
        self.invalid: set[str] = set()  # E.164-shaped numbers Twilio still calls invalid
        self.twiml: list[ElementTree.Element] = []  # each accepted call's parsed TwiML

    def handle(self, request: Recorded) -> Reply:
        match = re.fullmatch(r"/2010-04-01/Accounts/(AC[0-9a-f]{32})/(Messages|Calls)\.json",
                             request.path)
        if not match:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}" or \
                match[1] != TWILIO_SID:
            return twilio_error(401, 20003, "Authenticate")
        if not request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            return twilio_error(400, 20001, "Unsupported content type")
        form = request.form
        to = form.get("To", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not E164.fullmatch(to) or to in self.invalid:
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if match[2] == "Messages":
            return self._message(form, to)
        return self._call(form, to)

    def _message(self, form: dict[str, str], to: str) -> Reply:
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is "
                                            "required to send a message")
        if not form.get("Body"):
            return twilio_error(400, 21602, "Message body is required.")
        if to in self.not_mobile:
            return twilio_error(400, 21614, f"'To' number {to} is not a valid mobile number")
        sid = "SM" + uuid.uuid4().hex
        uri = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/{sid}"
        now = formatdate(usegmt=False)
        return Reply(201, json.dumps({
            "account_sid": TWILIO_SID, "api_version": "2010-04-01", "body": form["Body"],
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0", "num_segments": "1", "price": None, "price_unit": "USD",
            "sid": sid, "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"}, "to": to, "uri": f"{uri}.json",
        }).encode())

    def _call(self, form: dict[str, str], to: str) -> Reply:
        if not form.get("From"):
            return twilio_error(400, 21213, "No 'From' number is specified")
        if not (form.get("Twiml") or form.get("Url") or form.get("ApplicationSid")):
            return twilio_error(400, 21205, "Url parameter is required.")
        try:
            # Parses what our own transport sent, in a test: no untrusted input here.
            self.twiml.append(ElementTree.fromstring(form["Twiml"]))  # noqa: S314
        except ElementTree.ParseError:
            return twilio_error(400, 12100, "Document parse failure")
        sid = "CA" + uuid.uuid4().hex
        uri = f"/2010-04-01/Accounts/{TWILIO_SID}/Calls/{sid}"
        return Reply(201, json.dumps({
            "account_sid": TWILIO_SID, "annotation": None, "answered_by": None,
            "api_version": "2010-04-01", "caller_name": None, "date_created": None,
            "date_updated": None, "direction": "outbound-api", "duration": None,
            "end_time": None, "forwarded_from": None, "from": form["From"],
            "from_formatted": form["From"], "group_sid": None, "parent_call_sid": None,
            "phone_number_sid": "PN" + "c3" * 16, "price": None, "price_unit": "USD",
            "queue_time": "0", "sid": sid, "start_time": None, "status": "queued",
            "subresource_uris": {"recordings": f"{uri}/Recordings.json"}, "to": to,
            "to_formatted": to, "trunk_sid": None, "uri": f"{uri}.json",
        }).encode())


# --- AWS SNS Query API 2010-03-31 ---------------------------------------------------------

SNS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SNS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SNS_REGION = "ap-northeast-1"
SNS_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)"
    r"/(?P<service>[a-z0-9]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=[0-9a-f]{64}"
)


def sns_error(status: int, code: str, message: str, fault: str = "Sender") -> Reply:
    """The Query protocol's ``ErrorResponse``."""
    body = (f'<ErrorResponse xmlns="{SNS_XMLNS}"><Error><Type>{fault}</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return Reply(status, body.encode(), content_type="text/xml")


class SnsStandIn(StandIn):
    """``Publish`` to a phone number, for the key ``SNS_KEY_ID`` in ``SNS_REGION``."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[dict[str, Any]] = []  # accepted: phone, message, attributes

    def handle(self, request: Recorded) -> Reply:
        authorization = request.headers.get("authorization")
        if not authorization:
            return sns_error(403, "MissingAuthenticationToken",
                             "Request is missing Authentication Token")
        match = _SIGV4.fullmatch(authorization)
        amz_date = request.headers.get("x-amz-date", "")
        if (not match or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date)
                or match["date"] != amz_date[:8] or match["service"] != "sns"
                or match["region"] != SNS_REGION
                or not {"host", "x-amz-date"} <= set(match["signed"].split(";"))):
            return sns_error(400, "IncompleteSignature", "Authorization header is malformed")
        if match["key"] != SNS_KEY_ID:
            return sns_error(403, "InvalidClientTokenId",
                             "The security token included in the request is invalid.")
        form = request.form
        if form.get("Action") != "Publish" or form.get("Version") != "2010-03-31":
            return sns_error(400, "InvalidAction", "Could not find operation")
        phone = form.get("PhoneNumber", "")
        if not phone:
            return sns_error(400, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn "
                                                      "Reason: no value for required parameter")
        if not E164.fullmatch(phone):
            return sns_error(400, "InvalidParameter",
                             f"Invalid parameter: PhoneNumber Reason: {phone} is not valid to "
                             "publish to")
        if not form.get("Message"):
            return sns_error(400, "InvalidParameter", "Invalid parameter: Empty message")
        attributes = {}
        for n in range(1, 11):
            name = form.get(f"MessageAttributes.entry.{n}.Name")
            if name is None:
                break
            attributes[name] = {
                "DataType": form.get(f"MessageAttributes.entry.{n}.Value.DataType"),
                "StringValue": form.get(f"MessageAttributes.entry.{n}.Value.StringValue"),
            }
        message_id = str(uuid.uuid4())
        self.published.append({"phone": phone, "message": form["Message"],
                               "attributes": attributes, "id": message_id})
        request_id = str(uuid.uuid4())
        body = (f'<PublishResponse xmlns="{SNS_XMLNS}"><PublishResult>'
                f"<MessageId>{message_id}</MessageId></PublishResult><ResponseMetadata>"
                f"<RequestId>{request_id}</RequestId></ResponseMetadata></PublishResponse>")
        return Reply(200, body.encode(), content_type="text/xml",
                     headers=(("x-amzn-RequestId", request_id),))


# --- An operator's webhook gateway --------------------------------------------------------

WEBHOOK_SECRET = "webhook-test-secret-0123456789abcdef0123"


class WebhookReceiver(StandIn):
    """Accepts (202) only requests whose Nidan signature verifies; records each verdict."""

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        super().__init__()
        self.secret = secret.encode()
        self.verdicts: list[bool] = []  # one per request that reached normal handling
        self.accepted: list[dict[str, Any]] = []

    def handle(self, request: Recorded) -> Reply:
        ok = verify_webhook_signature(
            self.secret, request.headers.get("x-nidan-timestamp", ""), request.body,
            request.headers.get("x-nidan-signature", ""),
        )
        self.verdicts.append(ok)
        if not ok:
            return Reply(401, b'{"error": "bad signature"}')
        self.accepted.append(json.loads(request.body))
        return Reply(202, b'{"accepted": true}')


# --- Leak checks --------------------------------------------------------------------------

CODE = "482913"
NUMBER = "+819012345678"
TEXT = f"Nidan: your sign-in code is {CODE}. Do not share it."
SMS: Final = SmsMessage(to=NUMBER, text=TEXT, locale="ja")


def refused(transport: Transport[Any], match: str | None = None, *,
            message: SmsMessage = SMS) -> TransportError:
    """The error ``transport`` raises sending ``message``; the transport is closed after."""
    with closing(transport), pytest.raises(TransportError, match=match) as caught:
        transport.send_sms(message)
    return caught.value


def assert_no_secrets(texts: list[str], *secrets: str) -> None:
    """None of ``texts`` (log lines, exception messages) quotes the code, the message, the
    number in full (with or without "+", or its national part) or any of ``secrets``."""
    forbidden = (CODE, TEXT, NUMBER, NUMBER[1:], NUMBER[3:], *secrets)
    assert texts, "nothing was checked"
    for text in texts:
        for secret in forbidden:
            assert secret not in text, f"{secret!r} leaked into {text!r}"
