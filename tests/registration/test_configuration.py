"""RFC 7592, the client configuration endpoint: a registration access token opens its own
client's URI and no other (GHSA-c73q-w75p-j82v was the opposite), read, update, delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.oidc.helpers import Env
from tests.registration.conftest import mcp_metadata, register


def _registered(env: Env, **metadata: Any) -> dict[str, Any]:
    response = register(env, mcp_metadata(**metadata))
    assert response.status_code == 201, response.text
    info: dict[str, Any] = response.json()
    return info


def _call(method: str, info: dict[str, Any], token: str | None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.request(method, info["registration_client_uri"], headers=headers, **kwargs)


def test_a_client_reads_its_own_registration(open_env: Env) -> None:
    info = _registered(open_env, client_name="Reader")
    response = _call("GET", info, info["registration_access_token"])
    assert response.status_code == 200
    read = response.json()
    assert read["client_id"] == info["client_id"]
    assert read["client_name"] == "Reader"
    assert read["redirect_uris"] == info["redirect_uris"]
    assert "registration_access_token" not in read  # kept only as a digest
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_client_a_token_on_client_b_uri_is_401_and_b_is_untouched(open_env: Env,
                                                                  method: str) -> None:
    a = _registered(open_env, client_name="A")
    b = _registered(open_env, client_name="B")
    body = {**mcp_metadata(client_name="Taken"), "client_id": b["client_id"]}
    response = _call(method, b, a["registration_access_token"],
                     **({"json": body} if method == "PUT" else {}))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    client = open_env.provider.clients.get(b["client_id"])
    assert client is not None
    assert client.name == "B"
    # B's own token still works, A's still opens A.
    assert _call("GET", b, b["registration_access_token"]).json()["client_name"] == "B"
    assert _call("GET", a, a["registration_access_token"]).status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer wrong", "Basic Zm9vOmJhcg=="])
def test_no_or_a_wrong_token_is_401(open_env: Env, authorization: str | None) -> None:
    info = _registered(open_env)
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(info["registration_client_uri"], headers=headers)
    assert response.status_code == 401


def test_an_unknown_client_is_the_same_401(open_env: Env) -> None:
    info = _registered(open_env)
    for client_id in ("dyn-nope", "rp", "x" * 300):
        response = httpx.get(open_env.url(f"/register/{client_id}"), headers={
            "Authorization": "Bearer " + info["registration_access_token"]})
        assert response.status_code == 401, client_id


def test_an_update_replaces_the_metadata_under_the_same_rules(open_env: Env) -> None:
    info = _registered(open_env)
    token = info["registration_access_token"]
    body = {"client_id": info["client_id"], "client_name": "Renamed",
            "redirect_uris": ["http://[::1]/cb", "https://tool.example.com/cb"],
            "token_endpoint_auth_method": "none", "scope": "openid"}
    response = _call("PUT", info, token, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["client_name"] == "Renamed"
    client = open_env.provider.clients.get(info["client_id"])
    assert client is not None
    assert client.config.redirect_uris == body["redirect_uris"]
    assert client.config.scopes == ["openid"]
    assert client.check_redirect_uri("http://[::1]:4000/cb")
    refused = {
        "invalid_redirect_uri": {**body, "redirect_uris": ["http://evil.example/cb"]},
        "invalid_client_metadata": {**body, "client_id": "dyn-other"},
    }
    for error, bad in refused.items():
        answer = _call("PUT", info, token, json=bad)
        assert answer.status_code == 400
        assert answer.json()["error"] == error
    for field in ("registration_access_token", "registration_client_uri",
                  "client_id_issued_at", "client_secret_expires_at"):
        answer = _call("PUT", info, token, json={**body, field: "x"})
        assert answer.status_code == 400
        assert field in answer.json()["error_description"]
    switched = _call("PUT", info, token, json={**body,
                                               "token_endpoint_auth_method": "client_secret_basic"})
    assert switched.status_code == 400
    after = open_env.provider.clients.get(info["client_id"])
    assert after is not None
    assert after.name == "Renamed"  # none of the refused updates changed anything


def test_delete_removes_the_client_for_good(open_env: Env, agent: httpx.Client) -> None:
    info = _registered(open_env)
    token = info["registration_access_token"]
    assert _call("DELETE", info, token).status_code == 204
    assert open_env.provider.clients.get(info["client_id"]) is None
    assert _call("GET", info, token).status_code == 401
    assert _call("DELETE", info, token).status_code == 401
    events = [e for e in open_env.services.audit_log.events()
              if e["action"].startswith("registration.")]
    actions = [e["action"] for e in events]
    assert "registration.client_registered" in actions
    assert "registration.client_deleted" in actions
    assert actions.count("registration.refused") == 2


def test_guessing_registration_tokens_hits_the_address_limit(tmp_path: Any) -> None:
    from tests.registration.conftest import registration_env

    with registration_env(tmp_path, mode="open", per_address=3) as env:
        info = register(env, mcp_metadata(), address="127.0.0.4").json()
        transport = httpx.HTTPTransport(local_address="127.0.0.4")
        with httpx.Client(transport=transport, timeout=10) as http:
            answers = [http.get(info["registration_client_uri"],
                                headers={"Authorization": f"Bearer guess-{n}"}).status_code
                       for n in range(4)]
        assert answers == [401, 401, 429, 429]
        # The client itself, from elsewhere, is not locked out.
        assert _call("GET", info, info["registration_access_token"]).status_code == 200
