"""What the hot-path work (bench/compare.py, docs/performance.md) must not change: the
public documents answer 304 to a client that holds them and a new body once they change; a
stored client changed on another replica or by the CLI counts on the very next request."""

from __future__ import annotations

import httpx
from tests.oidc.helpers import Env, add_client, oidc_test_settings

from idp.oidc.clients import hash_secret
from idp.oidc.keys import REFRESH_S
from idp.oidc.provider import OidcProvider


def test_discovery_has_an_etag_and_answers_304_to_it(env: Env) -> None:
    url = env.url("/.well-known/openid-configuration")
    first = httpx.get(url)
    tag = first.headers["etag"]
    assert tag.startswith('"')
    assert tag.endswith('"')
    again = httpx.get(url, headers={"If-None-Match": f'"other", W/{tag}'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == first.headers["cache-control"]
    stale = httpx.get(url, headers={"If-None-Match": '"not-it"'})
    assert stale.status_code == 200
    assert stale.json() == first.json()


def test_the_jwks_etag_changes_with_the_keys(env: Env) -> None:
    url = env.url("/jwks.json")
    first = httpx.get(url)
    tag = first.headers["etag"]
    assert httpx.get(url, headers={"If-None-Match": tag}).status_code == 304
    env.provider.keys.rotate(3600, actor="test")  # a new key is published at once
    env.clock.advance(REFRESH_S + 1)
    after = httpx.get(url, headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.headers["etag"] != tag
    assert len(after.json()["keys"]) == len(first.json()["keys"]) + 2


def _token(env: Env, secret: str) -> httpx.Response:
    return httpx.post(env.url("/token"), auth=("svc", secret),
                      data={"grant_type": "client_credentials"})


def test_a_secret_rotated_elsewhere_stops_working_on_the_next_request(env: Env) -> None:
    old = add_client(env, "svc", grant_types=["client_credentials"], redirect_uris=[])
    assert _token(env, old).status_code == 200  # the parsed client is now kept in memory
    # Another replica (its own provider object over the same store) rotates the secret.
    services = env.services
    replica = OidcProvider(env.settings, services.store, services.audit, services.accounts,
                           services.sessions, oidc=oidc_test_settings(), clock=env.clock)
    new = replica.clients.rotate_secret("svc", actor="test")
    assert _token(env, old).status_code == 401
    assert _token(env, new).status_code == 200
    replica.clients.delete("svc", actor="test")
    assert _token(env, new).status_code == 401
    assert env.provider.clients.get("svc") is None
    assert hash_secret(new) != hash_secret(old)
