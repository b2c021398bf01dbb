"""A real ``idp serve`` with two workers and its /metrics listener, for the metrics tests
(started by :class:`tests.served.Served`): its config file, people and a client prepared in
its SQLite store beforehand, a relying party's back-channel endpoint that answers 500 (on
:func:`tests.live_server.live_server`), and the real sign-in journey over HTTP."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pyotp
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from idp.oidc.clients import hash_secret, new_secret
from idp.services import build_services
from idp.settings import load_settings
from idp.users import method_user
from tests.conftest import FAST_PASSWORDS, TEST_DATA_KEY
from tests.live_server import free_port, live_server
from tests.login.helpers import Authenticator, Outbox, form
from tests.oidc.helpers import pkce_query, query_of
from tests.served import Served

PASSWORD = "kestrel-Pa55word-7f3c9e"
REDIRECT = "https://rp.example.com/callback"
BYE = "https://rp.example.com/bye"
CLIENT = "seller-tool"
PHONES = {"app": "+819012340001", "sms": "+819012340002", "voice": "+819012340003",
          "canary": "+819012340004"}
# The metric families a sign-in moves (HTTP, store and audit counts move too, by design).
FUNNEL = ("nidan_signin_steps_total", "nidan_tokens_issued_total", "nidan_token_errors_total",
          "nidan_code_deliveries_total", "nidan_code_delivery_units_total",
          "nidan_code_delivery_cost_total", "nidan_lockouts_total",
          "nidan_trusted_browsers_total", "nidan_backchannel_logout_deliveries_total")

Sample = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class Person:
    email: str
    method: str  # the primary: totp, sms or voice
    phone: str
    authenticator: Authenticator


@dataclass
class Server:
    base: str
    metrics_url: str
    directory: Path
    log: Path
    process: Served
    client_secret: str
    people: dict[str, Person]
    backchannel_hits: list[str]
    token: str

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.directory / "outbox.jsonl")

    def scrape_text(self) -> str:
        response = httpx.get(self.metrics_url,
                             headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        assert response.status_code == 200, response.text
        return response.text

    def scrape(self) -> dict[Sample, float]:
        return samples(self.scrape_text())


def samples(text: str) -> dict[Sample, float]:
    found: dict[Sample, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def moved(before: dict[Sample, float], after: dict[Sample, float],
          families: tuple[str, ...] = FUNNEL) -> dict[Sample, float]:
    """Samples of ``families`` whose value changed, and by how much."""
    changed = {}
    for key, value in after.items():
        if any(key[0].startswith(name) for name in families):
            delta = round(value - before.get(key, 0.0), 6)
            if delta:
                changed[key] = delta
    return changed


def label_set(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def step(step_name: str, outcome: str = "success", *, method: str = "none",
         reason: str = "none", client: str = CLIENT) -> Sample:
    return ("nidan_signin_steps_total", label_set(client=client, step=step_name, method=method,
                                                   outcome=outcome, reason=reason))


def _refusing(hits: list[str]) -> Starlette:
    """A relying party's back-channel endpoint that keeps each body and answers 500."""

    async def refuse(request: Request) -> Response:
        hits.append((await request.body()).decode())
        return Response(status_code=500)

    return Starlette(routes=[Route("/backchannel", refuse, methods=["POST"])])


def _config(directory: Path, port: int, metrics_port: int, receiver: str) -> Path:
    token_file = directory / "metrics-token"
    token_file.write_text(secrets.token_urlsafe(24))
    text = f"""
[server]
issuer = "http://127.0.0.1:{port}"
[store]
url = "sqlite:///{directory}/idp.sqlite3"
[passwords]
argon2_time_cost = {FAST_PASSWORDS["argon2_time_cost"]}
argon2_memory_kib = {FAST_PASSWORDS["argon2_memory_kib"]}
argon2_parallelism = {FAST_PASSWORDS["argon2_parallelism"]}
[secrets]
data_keys = ["{TEST_DATA_KEY}"]
cookie_keys = ["test-cookie-key-0123456789"]
[limits]
password_delay_after = 1000
password_lock_after = 3
password_per_ip_per_minute = 100000
[delivery]
allow_outbox = true
[delivery.transports.outbox]
path = "{directory}/outbox.jsonl"
[oidc]
clients_file = "{directory}/clients.toml"
backchannel_poll_s = 0.2
backchannel_retry_base_s = 3600.0
[metrics]
listen = "127.0.0.1:{metrics_port}"
bearer_token_file = "{token_file}"
multiprocess_dir = "{directory}/metrics"
currency = "JPY"
sms_prices = {{ "81" = 11.5, "default" = 20.0 }}
voice_prices = {{ "81" = 30.0 }}
[logging]
level = "INFO"
"""
    secret = new_secret()
    (directory / "client-secret").write_text(secret)
    clients = f"""
[[client]]
client_id = "{CLIENT}"
client_name = "Seller tool"
secret_hash = "{hash_secret(secret)}"
redirect_uris = ["{REDIRECT}"]
post_logout_redirect_uris = ["{BYE}"]
backchannel_logout_uri = "{receiver}"
skip_consent = true
"""
    (directory / "clients.toml").write_text(clients)
    path = directory / "idp.toml"
    path.write_text(text)
    return path


def _prepare(config: Path) -> dict[str, Person]:
    """People in the store before the server starts: each with a primary of one kind and a
    second method as backup (a TOTP app, or SMS for the app person)."""
    settings = load_settings(config)
    services = build_services(settings)
    people = {}
    try:
        for kind, primary in (("app", "totp"), ("sms", "sms"), ("voice", "voice"),
                              ("locked", "totp"), ("canary", "sms")):
            email = f"canary-{kind}-{secrets.token_hex(3)}@example.com"
            user = services.accounts.create(email, display_name="Canary", locale="en",
                                            password=PASSWORD, actor="test")
            secret = pyotp.random_base32()
            phone = PHONES.get(kind, PHONES["app"])
            rows = [("totp", "primary" if primary == "totp" else "backup", {"secret": secret})]
            other = "sms" if primary == "totp" else primary
            rows.append((other, "backup" if primary == "totp" else "primary", {"phone": phone}))
            services.methods.import_credentials(method_user(user), rows)
            people[kind] = Person(email, primary, phone, Authenticator(secret))
        services.oidc.keys.ring()  # the signing keys, before two workers race to make them
    finally:
        services.close()
    return people


@contextmanager
def running_server(directory: Path, workers: int = 2) -> Iterator[Server]:
    hits: list[str] = []
    port, metrics_port = free_port(), free_port()
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with live_server(_refusing(hits)) as receiver:
        config = _config(directory, port, metrics_port, f"{receiver}/backchannel")
        people = _prepare(config)
        # a loaded machine starts workers slowly
        with Served.start(config, workers=workers, port=port, workdir=directory,
                          ready_path="/healthz",
                          ready=lambda process: _ready(process, metrics_url, directory, workers),
                          ready_timeout=120) as process:
            yield Server(process.base, metrics_url, directory, process.log_path, process,
                         (directory / "client-secret").read_text(), people, hits,
                         (directory / "metrics-token").read_text())


def _ready(process: Served, metrics_url: str, directory: Path, workers: int) -> bool:
    """Every worker answers (each wrote its build_info file) and so does /metrics."""
    try:
        httpx.get(metrics_url, timeout=1)
    except httpx.TransportError:
        return False
    return len(process.worker_pids()) == workers and len(
        list((directory / "metrics").glob("gauge_livemax_*.db"))) == workers


def worker_pids(server: Server) -> list[int]:
    return server.process.worker_pids()


# -- the journey -------------------------------------------------------------------------


def browser(server: Server, **transport: Any) -> httpx.Client:
    kwargs: dict[str, Any] = {}
    if transport:
        kwargs["transport"] = httpx.HTTPTransport(**transport)
    return httpx.Client(base_url=server.base, follow_redirects=False, timeout=20, **kwargs)


def start(server: Server, http: httpx.Client, **params: str) -> tuple[httpx.Response, str]:
    query, verifier = pkce_query(CLIENT, redirect_uri=REDIRECT, **params)
    return http.get("/authorize?" + urlencode(query)), verifier


@dataclass
class Journey:
    codes: list[str] = field(default_factory=list)
    final: httpx.Response | None = None


def sign_in(server: Server, http: httpx.Client, person: Person, *, wrong_code_first: bool = False,
            password: str = PASSWORD, **params: str) -> tuple[Journey, str]:
    """The journey from /authorize to the redirect back with a code. Returns what was typed
    (codes) and the PKCE verifier."""
    response, verifier = start(server, http, **params)
    journey = Journey()
    wrong_done = not wrong_code_first
    for _ in range(12):
        if response.status_code not in (302, 303):
            journey.final = response
            return journey, verifier
        location = response.headers["location"]
        if not location.startswith("/"):
            journey.final = response
            return journey, verifier
        page = http.get(location)
        path = urlsplit(location).path
        if page.status_code in (302, 303):
            response = page
            continue
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        if path == "/login":
            fields = form(page.text, "/login").hidden
            fields.update(email=person.email, password=password)
            response = http.post("/login", data=fields)
            if password != PASSWORD:
                journey.final = response
                return journey, verifier
        elif path == "/login/code":
            fields = form(page.text, "/login/code").hidden
            if person.method == "totp":
                code = person.authenticator.code()
            else:
                code = server.outbox.code(person.phone)
            if not wrong_done:
                wrong = f"{(int(code) + 1) % 1_000_000:06d}"
                journey.codes.append(wrong)
                http.post("/login/code", data={**fields, "code": wrong})
                wrong_done = True
                page = http.get("/login/code")
                fields = form(page.text, "/login/code").hidden
            journey.codes.append(code)
            response = http.post("/login/code", data={**fields, "code": code})
        else:
            journey.final = page
            return journey, verifier
    raise AssertionError("the sign-in journey did not end")


def exchange(server: Server, code: str, verifier: str) -> httpx.Response:
    return httpx.post(server.base + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}, auth=(CLIENT, server.client_secret))


def refresh(server: Server, token: str) -> httpx.Response:
    return httpx.post(server.base + "/token", data={
        "grant_type": "refresh_token", "refresh_token": token},
        auth=(CLIENT, server.client_secret))


def code_from(journey: Journey) -> str:
    assert journey.final is not None
    location = journey.final.headers.get("location", "")
    assert location.startswith(REDIRECT), (journey.final.status_code, location,
                                           journey.final.text[:300])
    return query_of(location)["code"]


def audit_events(server: Server) -> list[dict[str, Any]]:
    return server.process.audit_events()


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


DIGITS = re.compile(r"\d+")
