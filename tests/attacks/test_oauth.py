"""Attacks 6 and 7 on one in-process provider over real HTTP (no worker races needed here):
PKCE downgrades and mix-ups, ``iss`` on every authorization response, and a hypothesis corpus
of redirect URI mutations. The 10,000-per-URI run is ``bench/attack_redirects.py``."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from idp.oidc.clients import ClientConfig
from tests.attacks._redirects import REGISTERED, mutations_of
from tests.oidc.helpers import (
    REDIRECT,
    Env,
    add_client,
    authorize_query,
    exchange,
    make_user,
    provider_env,
    query_of,
    sign_in,
)
from tests.test_cli import Idp, assert_one_clear_error

EXAMPLES_PER_URI = 150  # the test's share; bench/attack_redirects.py runs 10,000 each


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with provider_env(tmp_path_factory.mktemp("oauth-attacks")) as running:
        add_client(running)  # "rp": PKCE required
        add_client(running, "broker", require_pkce=False)  # a broker that may send none
        add_client(running, "many", redirect_uris=list(REGISTERED))
        yield running


@pytest.fixture(scope="module")
def person(env: Env) -> Iterator[httpx.Client]:
    """A signed-in browser (the SSO session stands in for a finished second factor)."""
    with httpx.Client(timeout=10) as http:
        sign_in(env, http, make_user(env, "oauth-attacks@example.com", enroll=True))
        yield http


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(env: Env, http: httpx.Client, client_id: str = "rp", **params: str
              ) -> dict[str, str]:
    """The parameters the client got back (a 303 to its redirect URI), ``iss`` checked."""
    query = authorize_query(client_id, **params)
    response = http.get(env.url("/authorize?" + urlencode(query)))
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    answer = query_of(location)
    assert answer["iss"] == env.base  # RFC 9207: on every response, errors too
    assert answer["state"] == query["state"]
    return answer


def code_with(env: Env, http: httpx.Client, verifier: str, client_id: str = "rp") -> str:
    answer = authorize(env, http, client_id, code_challenge=challenge_of(verifier),
                       code_challenge_method="S256")
    assert "error" not in answer, answer
    return answer["code"]


def test_pkce_downgrades_and_mix_ups_are_refused(env: Env, person: httpx.Client) -> None:
    refused: dict[str, str] = {}
    # No challenge at all, plain, plain by default, wrong lengths of the challenge.
    verifier = secrets.token_urlsafe(48)
    for name, params in {
        "no challenge": {},
        "plain": {"code_challenge": verifier, "code_challenge_method": "plain"},
        "method missing": {"code_challenge": challenge_of(verifier)},
        "challenge of 42": {"code_challenge": "A" * 42, "code_challenge_method": "S256"},
        "challenge of 129": {"code_challenge": "A" * 129, "code_challenge_method": "S256"},
        "unknown method": {"code_challenge": challenge_of(verifier),
                           "code_challenge_method": "S512"},
    }.items():
        answer = authorize(env, person, **params)
        assert "code" not in answer, name
        refused[name] = answer["error"]
    assert set(refused.values()) == {"invalid_request"}, refused

    # A verifier sent for a code issued without a challenge (a broker allowed no PKCE):
    # the PKCE downgrade of RFC 9700 4.8.2.
    bare = authorize(env, person, "broker")
    downgraded = exchange(env, bare["code"], verifier, "broker")
    assert downgraded.status_code == 400
    assert "access_token" not in downgraded.json()
    assert downgraded.json()["error"] in ("invalid_grant", "invalid_request")

    # Verifiers of 42 and 129 characters (RFC 7636 4.1: 43-128), their S256 challenges valid.
    for length in (42, 129):
        short = ("v" * length)
        code = code_with(env, person, short)
        redeemed = exchange(env, code, short)
        assert redeemed.status_code == 400, (length, redeemed.text)
        assert redeemed.json()["error"] in ("invalid_grant", "invalid_request")
    for length in (43, 128):  # the bounds themselves work
        edge = "v" * length
        assert exchange(env, code_with(env, person, edge), edge).status_code == 200

    # Another code's verifier; no verifier; then the right one: the code is spent or refused,
    # never redeemed with a verifier that isn't its own.
    first, second = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    code_one, code_two = code_with(env, person, first), code_with(env, person, second)
    assert exchange(env, code_one, second).json()["error"] == "invalid_grant"
    assert exchange(env, code_two, None).json()["error"] in ("invalid_grant", "invalid_request")
    # A code of one client redeemed by another client with the right verifier.
    third = secrets.token_urlsafe(48)
    code_three = code_with(env, person, third)
    assert exchange(env, code_three, third, "broker").json()["error"] == "invalid_grant"
    print(f"attack 6: {len(refused)} authorization downgrades refused with iss, verifiers of"
          " 42/129 chars, a bare code with a verifier, crossed verifiers and clients refused")


def test_iss_is_on_every_authorization_error(env: Env) -> None:
    with httpx.Client(timeout=10) as anonymous:
        errors = {
            authorize(env, anonymous, prompt="none", code_challenge=challenge_of("x" * 43),
                      code_challenge_method="S256")["error"],
            authorize(env, anonymous, response_type="token")["error"],
            authorize(env, anonymous, request="not.a.jwt", code_challenge=challenge_of("x" * 43),
                      code_challenge_method="S256")["error"],
            authorize(env, anonymous, scope="profile email")["error"],  # no openid, no PKCE
        }
    assert {"login_required", "unsupported_response_type"} <= errors, errors
    assert len(errors) >= 3, errors


def _client_redirected(env: Env, response: httpx.Response) -> str | None:
    """Where a response sends the person outside the provider, or ``None``."""
    if not 300 <= response.status_code < 400:
        return None
    location = str(response.headers.get("location", ""))
    if location.startswith("/") and not location.startswith("//"):
        return None
    if location.startswith(env.base + "/"):
        return None
    return location


def test_the_registered_redirect_uris_work_byte_for_byte(env: Env,
                                                         person: httpx.Client) -> None:
    for uri in REGISTERED:
        query = authorize_query("many", redirect_uri=uri, code_challenge=challenge_of("y" * 43),
                                code_challenge_method="S256")
        response = person.get(env.url("/authorize?" + urlencode(query)))
        assert _client_redirected(env, response) is not None
        assert response.headers["location"].startswith(uri + "?")


@pytest.mark.parametrize("uri", REGISTERED)
def test_no_mutation_of_a_registered_redirect_uri_is_redirected_to(
    env: Env, person: httpx.Client, uri: str,
) -> None:
    seen: list[str] = []

    @settings(max_examples=EXAMPLES_PER_URI, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutations_of(uri))
    def probe(candidate: str) -> None:
        seen.append(candidate)
        query = authorize_query("many", redirect_uri=candidate,
                                code_challenge=challenge_of("z" * 43),
                                code_challenge_method="S256")
        response = person.get(env.url("/authorize?" + urlencode(query)))
        assert _client_redirected(env, response) is None, (candidate, response.headers)
        assert response.status_code == 400, (candidate, response.status_code)

    probe()
    assert len(seen) >= EXAMPLES_PER_URI // 2
    print(f"attack 7 [{uri}]: {len(seen)} mutations, 0 redirects")


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "JaVaScRiPt://x/%0aalert(1)",
                                 "data:text/html,<script>alert(1)</script>",
                                 "DATA://x/y", " javascript:alert(1)"])
def test_script_schemes_are_refused_in_any_case(uri: str) -> None:
    data: dict[str, Any] = {"client_id": "x", "redirect_uris": [uri], "secret_hash": None}
    with pytest.raises(ValueError, match="absolute http"):
        ClientConfig.model_validate(data)


def test_idp_clients_add_refuses_javascript_and_data(tmp_path: Path) -> None:
    # One run of the operator's command (each costs an interpreter start): a javascript: and
    # a data: URI, in mixed case, next to a good one; refused with one clear error.
    idp = Idp(tmp_path)
    assert_one_clear_error(idp("clients", "add", "evil", "--redirect-uri", "https://ok.example/cb",
                               "--redirect-uri", "JavaScript:alert(document.domain)",
                               "--redirect-uri", "Data:text/html;base64,PHNjcmlwdD4="),
                           "absolute http")
