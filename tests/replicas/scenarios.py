"""What the multi-replica tests show, written once and run on standalone Redis and Sentinel."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field

import httpx
import pytest
from joserfc import jwk, jwt

from idp.login import ACR_2SV, ACR_TRUSTED_BROWSER
from tests.oidc.helpers import form_with, header_of, query_of
from tests.replicas.deployment import BYE, PASSWORD, PER_IP_PER_MINUTE, REDIRECT, Deployment
from tests.replicas.journey import (
    Browser,
    Refused,
    Tokens,
    authorize,
    exchange,
    logout,
    refresh,
    sign_in,
    tokens_of,
    userinfo,
    walk,
)
from tests.served import idp_command

# Figures the tests measured, printed at the end of the run (pytest -s, or -rA).
FIGURES: dict[str, object] = {}
LOST_DETAILS: list[object] = []


def journey_hopping_replicas(dep: Deployment) -> None:
    """Authorize, password, code, consent, token, refresh, userinfo, logout: every request
    on another replica than the one before, through the balancer's round robin."""
    person = dep.person()
    browser = Browser(dep)
    first = len(dep.balancer.routed)
    try:
        start, verifier = authorize(browser)
        code = walk(browser, person, start)
        tokens = exchange(browser, code, verifier)
        assert tokens.claims["acr"] == ACR_2SV
        assert {"pwd", "otp", "mfa"} <= set(tokens.claims["amr"])
        assert tokens.claims["iss"] == dep.issuer
        refreshed = refresh(browser, tokens)
        assert refreshed.status_code == 200, refreshed.text
        renewed = tokens_of(refreshed)
        assert renewed.refresh_token != tokens.refresh_token
        assert renewed.claims["auth_time"] == tokens.claims["auth_time"]
        info = userinfo(browser, renewed)
        assert info.status_code == 200
        assert info.json()["sub"] == person.user.id
        bye = logout(browser, renewed)
        assert bye.status_code == 303
        assert bye.headers["location"].startswith(BYE)
        assert query_of(bye.headers["location"]) == {"state": "bye"}
        # The session ended everywhere: its refresh token too (no offline_access).
        assert refresh(browser, renewed).json()["error"] == "invalid_grant"
    finally:
        browser.close()
    hops = dep.balancer.replicas_since(first)
    paths = [routed.path for routed in dep.balancer.routed[first:]]
    assert {"/authorize", "/login", "/login/code", "/authorize/consent", "/token",
            "/userinfo", "/logout"} <= set(paths)
    assert browser.retries == 0
    assert set(hops) == set(range(len(dep.replicas)))
    assert all(a != b for a, b in itertools.pairwise(hops)), hops
    count("journeys")


def count(name: str, amount: int = 1) -> None:
    FIGURES[name] = int(str(FIGURES.get(name, 0))) + amount


def trusted_browser_removed_on_one_is_refused_by_all(dep: Deployment) -> None:
    """T1 on one replica, used on another, removed on a third: from that response on, every
    replica asks this browser for a code."""
    person = dep.person("trusting")
    with closing(Browser(dep, local_address="127.0.0.7")) as browser:
        with dep.balancer.pinned(0):
            first = sign_in(browser, person, trust=True)
        assert browser.asked_code == 1
        assert first.claims["acr"] == ACR_2SV
        # The rough location is the browser's own address, not the balancer's.
        [record] = dep.services.devices.list(person.user)
        assert record.ip == "127.0.0.7"
        with dep.balancer.pinned(1):
            trusted = sign_in(browser, person, prompt="login")
        assert browser.asked_code == 1, "the trusted browser stood in for the code"
        assert trusted.claims["acr"] == ACR_TRUSTED_BROWSER
        with dep.balancer.pinned(2):
            page = browser.get("/account")
            assert page.status_code == 200, page.text[:300]
            fields = form_with(page.text, "/account/browsers/remove")
            removed = browser.post("/account/browsers/remove", fields)
            assert removed.status_code == 303
            assert "browser_removed" in removed.headers["location"]
        assert dep.services.devices.list(person.user) == []
        # At once, on each of the others: the password is followed by the code.
        with dep.balancer.pinned(0):
            start, _verifier = authorize(browser, prompt="login")
            with pytest.raises(Refused, match="no way around the code"):
                walk(browser, person, start, skip_code=True)
        assert browser.asked_code == 2
        with dep.balancer.pinned(1):
            again = sign_in(browser, person, prompt="login")
        assert browser.asked_code == 3
        assert again.claims["acr"] == ACR_2SV
        assert "mfa" in again.claims["amr"]
    count("journeys", 4)


def replica_killed_mid_journey(dep: Deployment) -> None:
    """kill -9 of the replica that took the password: the person goes on, on another one,
    without noticing (the balancer stops sending there; the sign-in is in the store)."""
    person = dep.person("survivor")
    with closing(Browser(dep)) as browser:
        start, verifier = authorize(browser)
        assert start.headers["location"].startswith("/login"), start.headers["location"]
        page = browser.get(start.headers["location"])
        fields = form_with(page.text, "/login")
        fields.update(email=person.email, password=PASSWORD)
        after_password = browser.post("/login", fields)
        assert after_password.status_code == 303, after_password.text[:300]
        victim = dep.balancer.routed[-1].replica
        mark = len(dep.balancer.routed)
        dep.replicas[victim].kill()
        code = walk(browser, person, after_password)
        tokens = exchange(browser, code, verifier)
        assert {"otp", "mfa"} <= set(tokens.claims["amr"])
        assert refresh(browser, tokens).status_code == 200
    served_after = dep.balancer.replicas_since(mark)
    assert served_after, "nothing was served after the kill"
    assert victim not in served_after, served_after
    assert len(set(served_after)) == len(dep.replicas) - 1, served_after
    assert browser.retries == 0, dep.balancer.routed[mark:]
    count("journeys")


def key_rotation_on_one_is_served_and_verified_by_all(dep: Deployment) -> None:
    """`idp keys rotate` run beside one replica: within oidc.key_refresh_s every replica
    publishes the new keys; once they activate, tokens signed by any replica verify against
    every replica's JWKS and are accepted by every replica's userinfo."""
    prepublish_s = 3
    rotated = subprocess.run(
        [*idp_command(), "--config", str(dep.config), "keys", "rotate",
         "--prepublish-s", str(prepublish_s)],
        cwd=dep.replicas[0].log_path.parent, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("IDP_")}, check=False)
    assert rotated.returncode == 0, rotated.stderr
    started = time.monotonic()
    new_kids = set(re.findall(r"key (\S+): published now", rotated.stdout))
    assert len(new_kids) == 2, rotated.stdout  # RS256 and ES256
    live = [dep.replicas[index] for index in dep.alive()]
    deadline = started + 30
    for replica in live:
        while not new_kids <= _kids(replica.url("/jwks.json")):
            assert time.monotonic() < deadline, f"{replica.name} never published the new keys"
            time.sleep(0.2)
    FIGURES["key rotation published by all replicas within (s)"] = round(
        time.monotonic() - started, 1)
    time.sleep(max(0.0, started + prepublish_s + 0.5 - time.monotonic()))
    person = dep.person("rotation")
    with closing(Browser(dep)) as browser:
        tokens = sign_in(browser, person)
        kid = header_of(tokens.id_token)["kid"]
        assert kid in new_kids, "the new key does not sign"
        for replica in live:
            keys = jwk.KeySet.import_key_set(httpx.get(replica.url("/jwks.json")).json())
            claims = jwt.decode(tokens.id_token, keys, algorithms=["RS256", "ES256"]).claims
            assert claims["sub"] == person.user.id
            seen = Browser(dep, base=replica.base)
            try:
                assert userinfo(seen, tokens).status_code == 200
            finally:
                seen.close()
    count("journeys")


def _kids(url: str) -> set[str]:
    return {key["kid"] for key in httpx.get(url, timeout=10).json()["keys"]}


def password_attempt(browser: Browser, email: str, password: str,
                     headers: list[tuple[str, str]] | None = None) -> httpx.Response:
    """Open the sign-in from a client's /authorize and send one password."""
    start, _verifier = authorize(browser)
    assert start.headers["location"].startswith("/login"), start.headers["location"]
    page = browser.send("GET", start.headers["location"], headers=headers)
    fields = form_with(page.text, "/login")
    fields.update(email=email, password=password)
    return browser.post("/login", fields, headers=headers)


# (the connecting peer, the X-Forwarded-For headers it sends, the address the replica uses)
FORWARDED_CASES: list[tuple[str, list[str], str]] = [
    # Not a trusted proxy: whatever it claims is ignored.
    ("127.0.0.9", ["203.0.113.7"], "127.0.0.9"),
    # The proxy appended the client; what the client wrote itself (left) is ignored.
    ("127.0.0.1", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),
    # A chain of trusted proxies (10.0.0.0/8) between the client and the last one.
    ("127.0.0.1", ["198.51.100.1, 203.0.113.8, 10.1.2.3, 10.4.5.6"], "203.0.113.8"),
    # Several headers are one list, in order.
    ("127.0.0.1", ["198.51.100.1", "203.0.113.9, 10.1.2.3"], "203.0.113.9"),
    # Every hop trusted: the farthest one.
    ("127.0.0.1", ["10.9.9.9, 10.1.1.1"], "10.9.9.9"),
    # Ports and IPv6 spellings: one normalised address.
    ("127.0.0.1", ["[2001:DB8::1]:443"], "2001:db8::1"),
    ("127.0.0.1", ["203.0.113.10:4711"], "203.0.113.10"),
    # Malformed: nothing beyond a hop that is no address is believed.
    ("127.0.0.1", ["203.0.113.11, garbage"], "127.0.0.1"),
    ("127.0.0.1", ["203.0.113.12, not-an-ip, 10.1.2.3"], "10.1.2.3"),
    ("127.0.0.1", [", , ,"], "127.0.0.1"),
    ("127.0.0.1", ["198.51.100.2, " * 400 + "203.0.113.13"], "203.0.113.13"),
]


def forwarded_for_is_believed_only_from_trusted_proxies(dep: Deployment) -> None:
    """Straight to one replica over real HTTP, from chosen client addresses: the address in
    the audit event of a wrong password is what the rules say it is."""
    replica = dep.replicas[0]
    for index, (peer, forwarded, expected) in enumerate(FORWARDED_CASES):
        browser = Browser(dep, local_address=peer, base=replica.base)
        headers = [("X-Forwarded-For", value) for value in forwarded]
        try:
            before = len(replica.audit_events("login.password.failed"))
            refused = password_attempt(browser, f"nobody-xff-{index}@example.com", "wrong-pass",
                                       headers)
        finally:
            browser.close()
        assert refused.status_code in (400, 401), refused.status_code
        events = replica.audit_events("login.password.failed")
        assert len(events) == before + 1
        assert events[-1]["ip"] == expected, (peer, forwarded[0][:80], events[-1]["ip"])


def per_ip_limits_use_each_clients_own_address(dep: Deployment) -> None:
    """S4 per address behind the balancer: wrong passwords from 127.0.0.21 stop that address,
    even with the right password, and nobody else (127.0.0.22 signs in at once)."""
    person = dep.person("limited")
    guesser = Browser(dep, local_address="127.0.0.21")
    neighbour = Browser(dep, local_address="127.0.0.22")
    try:
        for attempt in range(PER_IP_PER_MINUTE):
            refused = password_attempt(guesser, f"nobody-{attempt}@example.com", "wrong-pass")
            assert refused.status_code in (400, 401), refused.status_code
        stopped = password_attempt(guesser, person.email, PASSWORD)
        assert stopped.status_code == 429
        assert "location" not in stopped.headers
        tokens = sign_in(neighbour, person)
        assert "mfa" in tokens.claims["amr"]
    finally:
        guesser.close()
        neighbour.close()
    events = [event for replica in dep.replicas if replica.alive()
              for event in replica.audit_events()]
    failed = [e["ip"] for e in events if e["event"] == "login.password.failed"
              and str(e.get("ip", "")).startswith("127.0.0.2")]
    assert failed == ["127.0.0.21"] * PER_IP_PER_MINUTE
    throttled = [e for e in events if e["event"] == "login.throttled" and e["kind"] == "ip"]
    assert [e["ip"] for e in throttled] == ["127.0.0.21"]
    succeeded = [e["ip"] for e in events if e["event"] == "login.password.succeeded"
                 and e.get("user_id") == person.user.id]
    assert succeeded == ["127.0.0.22"]
    count("journeys")


@dataclass
class Crowd:
    """What happened to the concurrent sign-ins of :func:`failover_mid_sign_ins`."""

    completed: dict[int, tuple[Browser, Tokens]] = field(default_factory=dict)
    restarted: int = 0
    restart_reasons: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    attackers_stopped: int = 0
    attacker_codes: int = 0


def failover_mid_sign_ins(dep: Deployment, failover: Callable[[], None], *,
                          people: int = 50, attackers_every: int = 10) -> Crowd:
    """``people`` sign-ins at once through the balancer; when about half of their requests
    have been served, ``failover()`` (a Sentinel failover). A sign-in may be asked to retry
    (a 5xx page, a dropped connection: the browser reloads) or to start again; every tenth
    person knows only the password and tries to get a code without the second factor."""
    crowd = Crowd()
    lock = threading.Lock()
    persons = [dep.person("crowd") for _ in range(people)]
    first = len(dep.balancer.routed)
    halfway = first + people * 4  # a sign-in with consent and token is about 8 requests
    failed_over = threading.Event()

    def trigger() -> None:
        deadline = time.monotonic() + 100
        while len(dep.balancer.routed) < halfway and time.monotonic() < deadline:
            time.sleep(0.02)
        failover()
        failed_over.set()

    def one(index: int) -> None:
        person = persons[index]
        browser = Browser(dep)
        if index % attackers_every == 0:
            start, _verifier = authorize(browser)
            try:
                code = walk(browser, person, start, skip_code=True)
            except Refused:
                with lock:
                    crowd.attackers_stopped += 1
            else:
                with lock:
                    crowd.attacker_codes += 1 if code else 0
            browser.close()
            return
        for _attempt in range(4):
            try:
                tokens = sign_in(browser, person)
            except Refused as exc:
                last = str(exc)[:160]
                with lock:
                    crowd.restarted += 1
                    crowd.restart_reasons.append(last)
                continue
            with lock:
                crowd.completed[index] = (browser, tokens)
            return
        browser.close()
        with lock:
            crowd.gave_up.append(last)

    trigger_thread = threading.Thread(target=trigger, daemon=True)
    trigger_thread.start()
    with ThreadPoolExecutor(max_workers=people) as pool:
        list(pool.map(one, range(people)))
    trigger_thread.join(timeout=200)
    assert failed_over.is_set(), "the failover did not happen during the sign-ins"
    return crowd


def nothing_confirmed_is_lost(dep: Deployment, crowd: Crowd) -> int:
    """After the failover: every completed sign-in's session still signs the person in
    without a password, and its refresh token and access token still work. Returns how many
    did not (lost)."""
    lost = 0
    for browser, tokens in crowd.completed.values():
        again, _verifier = authorize(browser)
        session_kept = (again.status_code == 303
                        and again.headers["location"].startswith(REDIRECT)
                        and "code" in query_of(again.headers["location"]))
        refreshed = refresh(browser, tokens)
        info = userinfo(browser, tokens)
        if not (session_kept and refreshed.status_code == 200 and info.status_code == 200):
            lost += 1
            LOST_DETAILS.append((again.status_code, again.headers.get("location", "")[:60],
                                 refreshed.text[:100], info.status_code))
        browser.close()
    return lost
