"""Attacks 4 and 5: replaying an authorization code and racing a refresh token, against
two workers on SQLite and on Redis. Many parallel requests, one winner at most; a reuse
revokes what it touched, and a restart of every worker revives nothing (ASVS 10.4.2, 10.4.5).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.attacks._flows import (
    Client,
    Journey,
    begin,
    finish,
    make_client,
    make_person,
    password,
    redeem,
    signed_in_tokens,
    submit_code,
    totp_now,
)
from tests.attacks._servers import Served

PARALLEL = 50


def all_at_once(count: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``count`` calls released together by a barrier, each on its own thread."""
    barrier = threading.Barrier(count)

    def run(index: int) -> httpx.Response:
        barrier.wait(timeout=30)
        return call(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def introspect(served: Served, client: Client, token: str) -> dict[str, Any]:
    response = httpx.post(served.base + "/introspect", data={"token": token},
                          auth=(client.client_id, client.secret), timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(served: Served, client: Client, token: str, n: int = 1) -> httpx.Response:
    with served.client(n) as http:
        return http.post("/token", data={"grant_type": "refresh_token", "refresh_token": token},
                         auth=(client.client_id, client.secret))


def signed_in_code(deployment: Served, http: httpx.Client, tag: str
                   ) -> tuple[Journey, Client, str]:
    person, client = make_person(deployment, tag), make_client(deployment)
    journey = begin(deployment, http, client)
    assert password(journey, person).status_code == 303
    code = finish(deployment, journey, submit_code(journey, totp_now(person)))
    assert code is not None, deployment.last_refusal and deployment.last_refusal.text[-600:]
    return journey, client, code


def redeem_from_many(deployment: Served, journey: Journey, code: str, count: int
                     ) -> list[httpx.Response]:
    def call(index: int) -> httpx.Response:
        with deployment.client(2 + index % 49) as other:
            return redeem(deployment, journey, code, http=other)

    return all_at_once(count, call)


def assert_inactive_within_a_second(deployment: Served, client: Client,
                                    tokens: dict[str, Any]) -> None:
    # ASVS 10.4.2: a code used twice revokes the tokens it gave, within a second.
    deadline = time.monotonic() + 1.0
    states = {}
    while time.monotonic() < deadline:
        states = {name: introspect(deployment, client, tokens[name])["active"]
                  for name in ("access_token", "refresh_token")}
        if not any(states.values()):
            break
        time.sleep(0.05)
    assert states == {"access_token": False, "refresh_token": False}


def test_a_redeemed_code_replayed_fifty_times_at_once(deployment: Served) -> None:
    with deployment.client(1) as http:
        journey, client, code = signed_in_code(deployment, http, "replay")
        first = redeem(deployment, journey, code)
        assert first.status_code == 200, first.text
        replays = redeem_from_many(deployment, journey, code, PARALLEL - 1)
    errors = Counter((r.status_code, r.json()["error"]) for r in replays)
    assert errors == {(400, "invalid_grant"): PARALLEL - 1}
    assert_inactive_within_a_second(deployment, client, first.json())


def test_one_code_redeemed_fifty_times_at_once(deployment: Served) -> None:
    # All fifty race for the code: at most one wins; when a loser sees the code taken
    # before the winner's tokens exist, the grant is revoked first and the winner is refused
    # too (fail closed: RFC 6749 10.5). Whatever was issued is dead within a second.
    with deployment.client(1) as http:
        journey, client, code = signed_in_code(deployment, http, "race")
        responses = redeem_from_many(deployment, journey, code, PARALLEL)
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] <= 1, statuses
    errors = Counter(r.json()["error"] for r in responses if r.status_code != 200)
    assert errors == {"invalid_grant": PARALLEL - statuses[200]}, errors
    for response in responses:
        if response.status_code == 200:
            assert_inactive_within_a_second(deployment, client, response.json())


def test_one_refresh_token_fifty_times_at_once(deployment: Served) -> None:
    person, client = make_person(deployment, "refresh"), make_client(deployment)
    with deployment.client(1) as http:
        tokens = signed_in_tokens(deployment, http, person, client)
    responses = all_at_once(PARALLEL, lambda i: refresh(deployment, client,
                                                         tokens["refresh_token"], 2 + i % 49))
    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] <= 1, statuses
    assert statuses[200] + statuses[400] == PARALLEL, statuses
    # The reuse revoked the family: whatever the winner got is dead too.
    for response in responses:
        if response.status_code == 200:
            pair = response.json()
            assert not introspect(deployment, client, pair["refresh_token"])["active"]
            assert refresh(deployment, client, pair["refresh_token"]).status_code == 400


def test_refresh_racing_revoke_and_a_replay_in_the_same_second(deployment: Served) -> None:
    person, client = make_person(deployment, "revoke"), make_client(deployment)
    with deployment.client(1) as http:
        tokens = signed_in_tokens(deployment, http, person, client)
    token = tokens["refresh_token"]

    def call(index: int) -> httpx.Response:
        if index == 0:
            with deployment.client(3) as other:
                return other.post("/revoke", data={"token": token},
                                  auth=(client.client_id, client.secret))
        return refresh(deployment, client, token, 2)

    revoked, *refreshed = all_at_once(10, call)
    assert revoked.status_code == 200
    winners = [r.json() for r in refreshed if r.status_code == 200]
    assert len(winners) <= 1
    # Whatever won the race, nothing lives on after the revocation and the replays.
    for pair in winners:
        assert not introspect(deployment, client, pair["refresh_token"])["active"]
    assert refresh(deployment, client, token).status_code == 400


def test_a_rotated_refresh_token_stays_dead_after_every_worker_is_killed(
    deployment: Served,
) -> None:
    person, client = make_person(deployment, "restart"), make_client(deployment)
    with deployment.client(1) as http:
        tokens = signed_in_tokens(deployment, http, person, client)
    first = tokens["refresh_token"]
    rotated = refresh(deployment, client, first)
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    deployment.kill_all()  # SIGKILL: no graceful shutdown, nothing flushed by the server
    deployment.restart()
    # The old token is still used up after the restart, and its reuse revokes the family.
    assert refresh(deployment, client, first).status_code == 400
    assert not introspect(deployment, client, second)["active"]
    assert refresh(deployment, client, second).status_code == 400
