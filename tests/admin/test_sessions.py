"""A person's sessions over /admin/api/v1 (the stolen laptop): listed with browser, address,
times, acr/amr; ended one or all, or by disabling the account, with back-channel logout to
the client (a real receiver validating the logout token) and the refresh tokens refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.admin.harness import HTTP, admin_env, api, sign_in_to_rp, token
from tests.live_server import free_port
from tests.oidc.helpers import Env, add_client, make_user, sign_in, tokens_for
from tests.oidc.receiver import Receiver, receiving

SESSIONS = "/users/{user_id}/sessions"
ONE = "/users/{user_id}/sessions/{sid}"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Safari/537.36")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with admin_env(tmp_path_factory.mktemp("sessions")) as running:
        yield running


@pytest.fixture(scope="module")
def receiver(env: Env) -> Iterator[Receiver]:
    port = free_port()
    add_client(env, "rp", backchannel_logout_uri=f"http://127.0.0.1:{port}/backchannel")
    with receiving(env.base, "rp", port) as running:
        yield running


def logged_out(receiver: Receiver, sids: set[str], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not sids <= {claims["sid"] for claims in receiver.received}:
        assert time.monotonic() < deadline, f"no logout for {sids} ({receiver.refused})"
        time.sleep(0.05)
    assert receiver.refused == []


def refused(env: Env, tokens: dict[str, Any]) -> bool:
    answer = HTTP.post(env.url("/token"), data={"grant_type": "refresh_token",
                                                "refresh_token": tokens["refresh_token"]},
                       auth=("rp", env.secrets["rp"]))
    return answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_list_then_end_one_session(env: Env, receiver: Receiver) -> None:
    person = make_user(env, "laptop@example.com", enroll=True)
    with httpx.Client(timeout=10, headers={"User-Agent": CHROME}) as agent:
        tokens = sign_in_to_rp(env, agent, person.email)
    bearer = token(env)
    listed = api(env, "GET", SESSIONS, bearer, params={"user_id": person.id})
    assert listed.status_code == 200
    [session] = listed.json()["items"]
    assert session["browser"] == "Chrome 126 on Windows"
    assert session["address"] == "127.0.0.1"
    assert session["acr"] == "urn:nidan:acr:2sv"
    assert session["amr"] == ["pwd", "otp", "mfa"]
    assert session["clients"] == ["rp"]
    assert session["created_at"] <= session["last_seen_at"]

    params = {"user_id": person.id, "sid": session["sid"]}
    ended = api(env, "DELETE", ONE, bearer, params=params)
    assert ended.status_code == 200
    assert ended.json() == {"sessions_ended": 1, "browsers_revoked": 0, "logouts_queued": 1}
    logged_out(receiver, {session["sid"]})
    assert refused(env, tokens)
    assert api(env, "GET", SESSIONS, bearer, params={"user_id": person.id}).json() == {
        "items": []}
    assert api(env, "DELETE", ONE, bearer, params=params).status_code == 404


def test_end_every_session_of_a_person(env: Env, receiver: Receiver) -> None:
    person = make_user(env, "stolen@example.com", enroll=True)
    other = make_user(env, "bystander@example.com", enroll=True)
    sids, grants = set(), []
    for who in (person, person, other):
        with httpx.Client(timeout=10) as agent:
            sids.add(sign_in(env, agent, who).sid)
            grants.append(tokens_for(env, agent))
    bearer = token(env)
    theirs = {s["sid"] for s in api(env, "GET", SESSIONS, bearer,
                                    params={"user_id": person.id}).json()["items"]}
    assert len(theirs) == 2
    # Another person's session is not reachable through this person.
    bystander = (sids - theirs).pop()
    assert api(env, "DELETE", ONE, bearer,
               params={"user_id": person.id, "sid": bystander}).status_code == 404

    ended = api(env, "DELETE", SESSIONS, bearer, params={"user_id": person.id})
    assert ended.status_code == 200
    assert ended.json()["sessions_ended"] == 2
    assert ended.json()["logouts_queued"] == 2
    logged_out(receiver, theirs)
    assert refused(env, grants[0])
    assert refused(env, grants[1])
    assert not refused(env, grants[2])  # the bystander's stays
    assert env.services.sessions.of_user(person.id) == []
    assert len(env.services.sessions.of_user(other.id)) == 1


def test_disabling_ends_access_with_back_channel_logout(env: Env, receiver: Receiver) -> None:
    person = make_user(env, "leaver@example.com", enroll=True)
    with httpx.Client(timeout=10) as agent:
        sid = sign_in(env, agent, person).sid
        tokens = tokens_for(env, agent)
    bearer = token(env)
    read = api(env, "GET", "/users/{user_id}", bearer, params={"user_id": person.id})
    disabled = api(env, "POST", "/users/{user_id}:disable", bearer,
                   params={"user_id": person.id}, headers={"If-Match": read.headers["etag"]})
    assert disabled.status_code == 200
    assert disabled.json()["status"] == "disabled"
    logged_out(receiver, {sid})
    assert refused(env, tokens)
    assert env.services.sessions.of_user(person.id) == []
    # The ETag answered is the user as now stored.
    again = api(env, "GET", "/users/{user_id}", bearer, params={"user_id": person.id})
    assert again.headers["etag"] == disabled.headers["etag"]
