"""/metrics of a real ``idp serve --workers 2``, scraped over HTTP and parsed with
prometheus-client's parser: each sign-in moves exactly the counters it should, whichever
worker served it; a worker killed with -9 leaves no live gauge behind; nothing secret ends up
in the scrape, the logs or the audit events; a thousand hostile sign-ins add no series."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from idp.metrics.http import valid_request_id
from tests.login.helpers import form
from tests.metrics.server import (
    CLIENT,
    PASSWORD,
    Sample,
    Server,
    audit_events,
    browser,
    code_from,
    exchange,
    label_set,
    moved,
    refresh,
    running_server,
    sign_in,
    start,
    step,
    wait_for,
    worker_pids,
)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # A folder of its own, not under pytest's shared base: the workers chdir into it long
    # after start-up, and other pytest runs on the machine prune that base.
    with tempfile.TemporaryDirectory(prefix="nidan-metrics-test-") as folder, \
            running_server(Path(folder)) as running:
        yield running


def delivery(channel: str, country: str = "81", outcome: str = "sent"
             ) -> dict[Sample, float]:
    found = {("nidan_code_deliveries_total", label_set(
        transport="outbox", channel=channel, country=country, outcome=outcome)): 1.0}
    if outcome == "sent":
        found[("nidan_code_delivery_units_total",
               label_set(transport="outbox", channel=channel, country=country))] = 1.0
        price = {"sms": 11.5, "voice": 30.0}[channel]
        found[("nidan_code_delivery_cost_total", label_set(
            transport="outbox", channel=channel, country=country, currency="JPY"))] = price
    return found


def signed_in(method: str) -> dict[Sample, float]:
    return {
        step("password"): 1.0,
        step("second_factor_challenge", method=method): 1.0,
        step("second_factor_verify", method=method): 1.0,
        step("code_issued"): 1.0,
    }


@pytest.mark.parametrize("kind", ["app", "sms", "voice"])
def test_a_sign_in_moves_the_funnel_of_its_method(server: Server, kind: str) -> None:
    person = server.people[kind]
    before = server.scrape()
    with browser(server) as http:
        journey, _ = sign_in(server, http, person)
    code_from(journey)
    expected = signed_in(person.method)
    if kind != "app":
        expected.update(delivery(kind))
    assert moved(before, server.scrape()) == expected


def test_a_wrong_code_counts_as_an_invalid_code(server: Server) -> None:
    person = server.people["app"]
    before = server.scrape()
    with browser(server) as http:
        journey, _ = sign_in(server, http, person, wrong_code_first=True)
    code_from(journey)
    expected = signed_in("totp")
    expected[step("second_factor_verify", "failure", method="totp",
                  reason="invalid_code")] = 1.0
    assert moved(before, server.scrape()) == expected


def test_a_lockout_counts_failures_then_one_lock_then_refusals(server: Server) -> None:
    person = server.people["locked"]
    before = server.scrape()
    with browser(server) as http:
        for _ in range(4):  # the third wrong password locks (password_lock_after = 3)
            sign_in(server, http, person, password="wrong-" + secrets.token_hex(4))
    assert moved(before, server.scrape()) == {
        step("password", "failure", reason="invalid_credentials"): 3.0,
        step("password", "failure", reason="locked"): 1.0,
        ("nidan_lockouts_total", label_set(scope="account_ip", trigger="password_failures")):
            1.0,
    }


def test_token_exchange_refresh_errors_and_a_logout_to_a_failing_client(server: Server) -> None:
    person = server.people["app"]
    with browser(server) as http:
        journey, verifier = sign_in(server, http, person)
        code = code_from(journey)
        before = server.scrape()
        tokens = exchange(server, code, verifier)
        assert tokens.status_code == 200, tokens.text
        after_exchange = server.scrape()
        assert moved(before, after_exchange) == {("nidan_tokens_issued_total", label_set(
            client=CLIENT, grant_type="authorization_code")): 1.0}

        renewed = refresh(server, tokens.json()["refresh_token"])
        assert renewed.status_code == 200, renewed.text
        after_refresh = server.scrape()
        assert moved(after_exchange, after_refresh) == {("nidan_tokens_issued_total", label_set(
            client=CLIENT, grant_type="refresh_token")): 1.0}

        # The same code again: RFC 6749 invalid_grant (and the grant it gave is revoked).
        again = exchange(server, code, verifier)
        assert again.status_code == 400
        after_error = server.scrape()
        assert moved(after_refresh, after_error) == {
            ("nidan_token_errors_total", label_set(error="invalid_grant")): 1.0}

        hits = len(server.backchannel_hits)
        logout = http.get("/logout", params={"id_token_hint": tokens.json()["id_token"],
                                             "post_logout_redirect_uri": "https://rp.example.com/bye"})
        assert logout.status_code in (302, 303), logout.text[:300]
    wait_for(lambda: len(server.backchannel_hits) > hits)
    wait_for(lambda: moved(after_error, server.scrape()) != {})
    assert moved(after_error, server.scrape()) == {
        ("nidan_backchannel_logout_deliveries_total", label_set(client=CLIENT,
                                                                outcome="retry")): 1.0}


def test_http_metrics_use_route_templates_and_status_classes(server: Server) -> None:
    httpx.get(server.base + "/no/such/" + secrets.token_hex(8))
    httpx.get(server.base + "/.well-known/openid-configuration")
    scraped = server.scrape()
    routes = {dict(labels).get("route") for name, labels in scraped
              if name.startswith("nidan_http_request_duration_seconds")}
    assert "/.well-known/openid-configuration" in routes
    assert "/authorize" in routes
    assert "unmatched" in routes
    assert not any(route and "no/such" in route for route in routes)
    assert scraped[("nidan_build_info", label_set(store="sqlite", version=next(
        dict(labels)["version"] for name, labels in scraped if name == "nidan_build_info")))] == 1


def test_the_listener_wants_its_bearer_token(server: Server) -> None:
    assert httpx.get(server.metrics_url).status_code == 401
    assert httpx.get(server.metrics_url, headers={"Authorization": "Bearer wrong"}
                     ).status_code == 401
    assert httpx.get(server.metrics_url.replace("/metrics", "/other"),
                     headers={"Authorization": f"Bearer {server.token}"}).status_code == 404


def test_request_ids_are_kept_when_well_formed_and_reach_logs_and_audit(server: Server) -> None:
    given = "canary-request-" + secrets.token_hex(6)
    with browser(server) as http:
        first, _ = start(server, http)
        login = http.get(first.headers["location"], headers={"X-Request-ID": given})
        assert login.headers["x-request-id"] == given
        bad = http.get("/healthz", headers={"X-Request-ID": "short"})
        replaced = bad.headers["x-request-id"]
        assert replaced != "short"
        assert re.fullmatch(r"[0-9a-f]{32}", replaced)
        assert http.get("/healthz").headers["x-request-id"] != replaced
        marked = "canary-login-" + secrets.token_hex(6)

        fields = form(login.text, "/login").hidden
        fields.update(email="nobody-" + secrets.token_hex(3) + "@example.com",
                      password="wrong-" + secrets.token_hex(3))
        http.post("/login", data=fields, headers={"X-Request-ID": marked})

    def logged() -> bool:
        return marked in server.log.read_text()

    wait_for(logged)
    lines = [line for line in server.log.read_text().splitlines() if marked in line]
    assert any('"logger": "idp.access"' in line for line in lines)
    events = [e for e in audit_events(server) if e.get("request_id") == marked]
    assert {e["event"] for e in events} >= {"login.password.failed"}
    assert valid_request_id(b"bad id") is None
    assert valid_request_id(b"a" * 129) is None


def test_nothing_secret_reaches_the_scrape_the_logs_or_the_audit_events(server: Server) -> None:
    person = server.people["canary"]
    hint = "canary-hint-" + secrets.token_hex(4) + "@example.com"
    with browser(server) as http:
        journey, verifier = sign_in(server, http, person, login_hint=hint)
        code = code_from(journey)
        tokens = exchange(server, code, verifier).json()
        cookies = [cookie.value for cookie in http.cookies.jar if cookie.value]
        http.get("/logout", params={"id_token_hint": tokens["id_token"]})
    secrets_seen = {
        "password": PASSWORD, "email": person.email, "phone": person.phone,
        "national phone": person.phone.removeprefix("+81"), "login_hint": hint,
        "authorization code": code, "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"], "id token": tokens["id_token"],
        "client secret": server.client_secret,
        **{f"cookie {i}": value for i, value in enumerate(cookies)},
    }
    assert cookies  # the session cookie at least
    typed = {f"typed code {i}": value for i, value in enumerate(journey.codes)}
    scrape = server.scrape_text()
    log = server.log.read_text()
    audit = "\n".join(str(event) for event in audit_events(server))
    assert audit  # the audit events are there to search
    for where, text in (("scrape", scrape), ("log", log), ("audit", audit)):
        for name, value in secrets_seen.items():
            assert value not in text, f"the {name} appears in the {where}"
        for name, value in typed.items():
            assert not re.search(rf"(?<!\d){value}(?!\d)", text), f"{name} in the {where}"


def test_a_thousand_hostile_sign_ins_add_no_series(server: Server) -> None:
    def hostile(rounds: int) -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, range(rounds)))

    def one(index: int) -> None:
        address = f"127.0.0.{2 + index % 100}"
        with browser(server, local_address=address) as http:
            # An unknown client id, then a failed sign-in with a random address.
            http.get("/authorize", params={"client_id": "tool-" + secrets.token_hex(6),
                                           "response_type": "code"})
            first, _ = start(server, http)
            login = http.get(first.headers["location"])

            fields = form(login.text, "/login").hidden
            for _ in range(10):
                fields.update(email=secrets.token_hex(5) + "@example.com",
                              password=secrets.token_hex(5))
                response = http.post("/login", data=fields)
                assert response.status_code in (200, 303, 400, 429), response.status_code

    hostile(2)  # the series these requests make exist once
    # The gauges every worker refreshes on its own clock (15 s after start) exist too.
    deadline = time.monotonic() + 60
    while not any(name == "nidan_signing_key_expiry_timestamp_seconds"
                  for name, _ in server.scrape()):
        assert time.monotonic() < deadline, "the signing-key gauge never appeared"
        time.sleep(0.5)
    before = server.scrape()
    hostile(100)  # 1,000 failed sign-ins from 100 addresses, 100 unknown clients
    after = server.scrape()
    assert set(after) == set(before), set(after) ^ set(before)
    failures = step("password", "failure", reason="invalid_credentials")
    assert after[failures] - before[failures] == 1000


def test_a_worker_killed_with_9_leaves_no_live_gauges(server: Server) -> None:
    before = server.scrape()
    victim = worker_pids(server)[0]
    folder = server.directory / "metrics"
    assert list(folder.glob(f"gauge_livemax_{victim}.db"))
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in worker_pids(server))
    after = server.scrape()
    assert not list(folder.glob(f"gauge_live*_{victim}.db"))
    # Its counters stay in the sum: nothing goes backwards.
    for key, value in before.items():
        if key[0].endswith(("_total", "_count", "_bucket")):
            assert after.get(key, 0.0) >= value, key


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus "
                    "package) is not installed")
def test_promtool_accepts_a_real_scrape(server: Server) -> None:
    result = subprocess.run(["promtool", "check", "metrics"], input=server.scrape_text(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_series_count(server: Server) -> None:
    """Not a limit: the figure the closing note reports, printed with -s."""
    count = len(server.scrape())
    print(f"series in one scrape: {count}")
    assert count > 0


