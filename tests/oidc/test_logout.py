"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 delivery, retried across a restart."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
from tests.live_server import free_port
from tests.oidc.helpers import (
    Env,
    add_client,
    authorize_query,
    csrf_form,
    exchange,
    make_user,
    pkce,
    provider_env,
    query_of,
    sign_in,
    tokens_for,
)
from tests.oidc.receiver import receiving

BYE = "https://rp.example.com/bye"


def logout(env: Env, agent: httpx.Client, **params: str) -> httpx.Response:
    return agent.get(env.url("/logout?" + urlencode(params)))


def session_alive(env: Env, sid: str) -> bool:
    return env.services.sessions.by_sid(sid) is not None


def test_logout_with_a_hint_ends_the_session_and_goes_back(env: Env,
                                                           agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    tokens = tokens_for(env, agent)
    response = logout(env, agent, id_token_hint=tokens["id_token"],
                      post_logout_redirect_uri=BYE, state="bye-1")
    assert response.status_code == 303
    assert response.headers["location"].startswith(BYE + "?")
    assert query_of(response.headers["location"]) == {"state": "bye-1"}
    assert not session_alive(env, session.sid)
    assert "nidan_sid=" in response.headers["set-cookie"]  # the cookie is cleared
    # The session's grants end with it (no offline_access was granted).
    refreshed = httpx.post(env.url("/token"), data={"grant_type": "refresh_token",
                                                    "refresh_token": tokens["refresh_token"]},
                           auth=("rp", env.secrets["rp"]))
    assert refreshed.json()["error"] == "invalid_grant"


def test_logout_with_a_hint_and_no_redirect_shows_the_signed_out_page(
        env: Env, agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    response = logout(env, agent, id_token_hint=tokens_for(env, agent)["id_token"])
    assert response.status_code == 200
    assert not session_alive(env, session.sid)


def test_logout_without_a_hint_asks_first(env: Env, agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    page = logout(env, agent, client_id="rp", post_logout_redirect_uri=BYE, state="s2")
    assert page.status_code == 200
    assert session_alive(env, session.sid)  # nothing happens before the person says so
    fields = csrf_form(page.text, "/logout/confirm")
    stay = agent.post(env.url("/logout/confirm"), data={**fields, "decision": "stay"})
    assert stay.status_code == 200
    assert session_alive(env, session.sid)
    confirmed = agent.post(env.url("/logout/confirm"), data={**fields, "decision": "logout"})
    assert confirmed.status_code == 303
    assert query_of(confirmed.headers["location"]) == {"state": "s2"}
    assert confirmed.headers["location"].startswith(BYE)
    assert not session_alive(env, session.sid)


def test_the_confirmation_needs_its_csrf_token(env: Env, agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    fields = csrf_form(logout(env, agent).text, "/logout/confirm")
    del fields["csrf_token"]
    assert agent.post(env.url("/logout/confirm"),
                      data={**fields, "decision": "logout"}).status_code == 403
    assert session_alive(env, session.sid)


def test_what_cannot_be_verified_is_an_error_page(env: Env, agent: httpx.Client) -> None:
    session = sign_in(env, agent, make_user(env))
    hint = tokens_for(env, agent)["id_token"]
    add_client(env, "rp2")
    cases = [
        {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/"},
        {"id_token_hint": hint, "post_logout_redirect_uri": BYE + "/"},
        {"id_token_hint": hint[:-5] + "AAAAA"},
        {"id_token_hint": hint, "client_id": "rp2"},  # not the hint's audience
        {"client_id": "nobody", "post_logout_redirect_uri": BYE},
        {"post_logout_redirect_uri": BYE},  # whose URI? no client named
    ]
    for params in cases:
        response = logout(env, agent, **params)
        assert response.status_code == 400, params
        assert "location" not in response.headers
    assert session_alive(env, session.sid)  # an unverifiable request changes nothing


def test_without_a_session_the_signed_out_page_offers_the_way_back(env: Env,
                                                                  agent: httpx.Client) -> None:
    page = logout(env, agent, client_id="rp", post_logout_redirect_uri=BYE)
    assert page.status_code == 200
    assert f'href="{BYE}"' in page.text


def test_offline_grants_survive_logout(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    verifier, challenge = pkce()
    query = authorize_query(code_challenge=challenge, code_challenge_method="S256",
                            scope="openid offline_access")
    page = agent.get(env.url("/authorize?" + urlencode(query)))
    fields = csrf_form(page.text, "/authorize/consent")  # offline_access: the person says yes
    approved = agent.post(env.url("/authorize/consent"), data={**fields, "decision": "approve"})
    tokens = exchange(env, query_of(approved.headers["location"])["code"], verifier).json()
    assert tokens["scope"] == "openid offline_access"
    logout(env, agent, id_token_hint=tokens["id_token"])
    refreshed = httpx.post(env.url("/token"), data={"grant_type": "refresh_token",
                                                    "refresh_token": tokens["refresh_token"]},
                           auth=("rp", env.secrets["rp"]))
    assert refreshed.status_code == 200


def test_backchannel_logout_reaches_every_client_the_session_served(
        env: Env, agent: httpx.Client) -> None:
    port = free_port()
    uri = f"http://127.0.0.1:{port}/backchannel"
    add_client(env, "tool-a", backchannel_logout_uri=uri)
    add_client(env, "tool-b")  # registered no back channel: nothing is sent to it
    session = sign_in(env, agent, make_user(env))
    tokens = tokens_for(env, agent, "tool-a")
    tokens_for(env, agent, "tool-b")
    with receiving(env.base, "tool-a", port) as receiver:
        logout(env, agent, id_token_hint=tokens["id_token"])
        claims = receiver.wait()
    assert claims["sid"] == session.sid
    assert claims["sub"] == session.user_id
    assert claims["aud"] == "tool-a"
    assert receiver.refused == []
    assert len(receiver.received) == 1


def test_backchannel_delivery_is_retried_across_a_restart(tmp_path: Path) -> None:
    """Logout while the client's endpoint is down; the provider stops with the delivery
    pending; a new process on the same store delivers it once the endpoint is back."""
    port, receiver_port = free_port(), free_port()
    uri = f"http://127.0.0.1:{receiver_port}/backchannel"
    with provider_env(tmp_path, port=port) as env, httpx.Client() as agent:
        add_client(env, "rp", backchannel_logout_uri=uri)
        session = sign_in(env, agent, make_user(env))
        hint = tokens_for(env, agent)["id_token"]
        assert logout(env, agent, id_token_hint=hint).status_code == 200
        failures = _wait_for_failures(env)
        assert failures >= 1
        assert env.provider.backchannel.pending() == 1
    with provider_env(tmp_path, port=port) as restarted:  # same store, new process state
        assert restarted.provider.backchannel.pending() == 1
        with receiving(restarted.base, "rp", receiver_port) as receiver:
            claims = receiver.wait(timeout=15)
        assert claims["sid"] == session.sid
        deadline = time.monotonic() + 5
        while restarted.provider.backchannel.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert restarted.provider.backchannel.pending() == 0


def _wait_for_failures(env: Env, timeout: float = 10.0) -> int:
    """How many attempts failed, once at least one has (the receiver is down)."""
    from idp.store import load_record

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for key in env.services.store.scan("oidc-bcl:"):
            record = load_record(env.services.store.get(key))
            if record and record["attempts"] >= 1:
                return int(record["attempts"])
        time.sleep(0.05)
    return 0


def test_ending_every_session_of_a_person_tells_their_clients(env: Env,
                                                              agent: httpx.Client) -> None:
    """What an operator's reset or "sign out everywhere" calls: Logout.end_all."""
    port = free_port()
    add_client(env, "tool-a", backchannel_logout_uri=f"http://127.0.0.1:{port}/backchannel")
    user = make_user(env)
    first = sign_in(env, agent, user)
    tokens = tokens_for(env, agent, "tool-a")
    with httpx.Client() as second_browser:
        second = sign_in(env, second_browser, user)
        tokens_for(env, second_browser, "tool-a")
    with receiving(env.base, "tool-a", port) as receiver:
        assert env.provider.logout.end_all(user.id, reason="reset-2sv", actor="test") == 2
        receiver.wait()
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert {claims["sid"] for claims in receiver.received} == {first.sid, second.sid}
    assert not session_alive(env, first.sid)
    assert not session_alive(env, second.sid)
    refreshed = httpx.post(env.url("/token"), data={"grant_type": "refresh_token",
                                                    "refresh_token": tokens["refresh_token"]},
                           auth=("tool-a", env.secrets["tool-a"]))
    assert refreshed.json()["error"] == "invalid_grant"
