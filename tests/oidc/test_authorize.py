"""The authorization endpoint: what it refuses, how it answers, over real HTTP."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import httpx
import pytest
from tests.oidc.helpers import (
    REDIRECT,
    Env,
    add_client,
    authorize,
    authorize_query,
    code_flow,
    make_user,
    pkce,
    query_of,
    sign_in,
)


def redirect_error(env: Env, response: httpx.Response, state: str) -> str:
    """The error a client received: a 303 to its redirect URI with state and iss."""
    assert response.status_code == 303, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = query_of(location)
    assert params["state"] == state  # RFC 6749 4.1.2.1: state on every error
    assert params["iss"] == env.base  # RFC 9207 2: iss on errors too
    assert "code" not in params
    return params["error"]


def error_page(response: httpx.Response) -> None:
    """An error shown to the person, never sent to an address we can't vouch for."""
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


def with_pkce(**params: str) -> dict[str, str]:
    _verifier, challenge = pkce()
    return authorize_query(code_challenge=challenge, code_challenge_method="S256", **params)


def test_without_a_session_the_sign_in_journey_starts(env: Env, agent: httpx.Client) -> None:
    response = authorize(env, agent, **with_pkce())
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize("variant", [
    REDIRECT + "/",                                   # trailing slash
    "https://RP.example.com/callback",                # case of the host
    "https://rp.example.com/Callback",                # case of the path
    REDIRECT + "?x=1",                                # extra query
    "http://rp.example.com/callback",                 # another scheme
    "https://rp.example.com:443/callback",            # explicit default port
    "https://rp.example.com/callback#frag",           # a fragment
    "https://evil.example/callback",
])
def test_only_the_exact_registered_redirect_uri_is_used(env: Env, agent: httpx.Client,
                                                        variant: str) -> None:
    error_page(authorize(env, agent, **with_pkce(redirect_uri=variant)))


def test_a_missing_or_repeated_redirect_uri_is_an_error_page(env: Env,
                                                             agent: httpx.Client) -> None:
    query = with_pkce()
    del query["redirect_uri"]
    error_page(authorize(env, agent, **query))
    repeated = urlencode([*with_pkce().items(), ("redirect_uri", REDIRECT)])
    error_page(agent.get(env.url("/authorize?" + repeated)))


def test_an_unknown_or_missing_client_is_an_error_page(env: Env, agent: httpx.Client) -> None:
    error_page(authorize(env, agent, **with_pkce(client_id="nobody")))
    query = with_pkce()
    del query["client_id"]
    error_page(authorize(env, agent, **query))


def test_the_error_page_speaks_the_requested_language(env: Env, agent: httpx.Client) -> None:
    response = authorize(env, agent, **with_pkce(client_id="nobody", ui_locales="en"))
    assert response.headers["content-language"] == "en"
    assert "isn't registered" in response.text


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token",
                                           "code token", "none"])
def test_only_the_code_flow_exists(env: Env, agent: httpx.Client, response_type: str) -> None:
    query = with_pkce(response_type=response_type)
    assert redirect_error(env, authorize(env, agent, **query),
                          query["state"]) == "unsupported_response_type"


def test_request_objects_are_refused_with_their_own_errors(env: Env,
                                                           agent: httpx.Client) -> None:
    query = with_pkce(request="eyJhbGciOiJub25lIn0.e30.")
    assert redirect_error(env, authorize(env, agent, **query),
                          query["state"]) == "request_not_supported"
    query = with_pkce(request_uri="https://rp.example.com/request.jwt")
    assert redirect_error(env, authorize(env, agent, **query),
                          query["state"]) == "request_uri_not_supported"


def test_pkce_is_required_and_only_s256(env: Env, agent: httpx.Client) -> None:
    user = make_user(env)
    sign_in(env, agent, user)
    plain = authorize_query()  # no code_challenge at all
    assert redirect_error(env, authorize(env, agent, **plain),
                          plain["state"]) == "invalid_request"
    verifier, _challenge = pkce()
    as_plain = authorize_query(code_challenge=verifier, code_challenge_method="plain")
    assert redirect_error(env, authorize(env, agent, **as_plain),
                          as_plain["state"]) == "invalid_request"
    no_method = authorize_query(code_challenge=_challenge)  # defaults to plain: refused
    assert redirect_error(env, authorize(env, agent, **no_method),
                          no_method["state"]) == "invalid_request"


def test_unknown_parameters_are_ignored(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    params, _verifier = code_flow(env, agent, extra_thing="1", display="popup",
                                  claims_locales="ja", vendor_x="y")
    assert params["code"]
    assert params["iss"] == env.base


def test_an_authorization_request_may_be_posted(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    response = agent.post(env.url("/authorize"), data=with_pkce())
    assert response.status_code == 303
    assert query_of(response.headers["location"])["code"]


def test_form_post_sends_the_code_in_a_self_submitting_form(env: Env,
                                                            agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env))
    query = with_pkce(response_mode="form_post")
    response = authorize(env, agent, **query)
    assert response.status_code == 200
    assert "location" not in response.headers
    assert f'action="{REDIRECT}"' in response.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', response.text))
    assert fields["state"] == query["state"]
    assert fields["iss"] == env.base
    assert len(fields["code"]) >= 43  # 256 bits, base64url
    csp = response.headers["content-security-policy"]
    assert "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["cache-control"] == "no-store"


def test_form_post_carries_errors_too(env: Env, agent: httpx.Client) -> None:
    query = with_pkce(response_mode="form_post", prompt="none")
    response = authorize(env, agent, **query)
    assert response.status_code == 200
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', response.text))
    assert fields["error"] == "login_required"
    assert fields["state"] == query["state"]
    assert fields["iss"] == env.base


def test_an_unknown_response_mode_is_refused(env: Env, agent: httpx.Client) -> None:
    query = with_pkce(response_mode="fragment")
    assert redirect_error(env, authorize(env, agent, **query), query["state"]) == \
        "invalid_request"


def test_repeated_parameters_are_refused(env: Env, agent: httpx.Client) -> None:
    query = with_pkce()
    raw = urlencode([*query.items(), ("scope", "openid email")])
    response = agent.get(env.url("/authorize?" + raw))
    assert redirect_error(env, response, query["state"]) == "invalid_request"


def test_malformed_claims_parameter_is_invalid_request(env: Env, agent: httpx.Client) -> None:
    for bad in ("{not json", "[1, 2]", '{"id_token": 3}'):
        query = with_pkce(claims=bad)
        assert redirect_error(env, authorize(env, agent, **query),
                              query["state"]) == "invalid_request"


def test_a_bad_max_age_is_invalid_request(env: Env, agent: httpx.Client) -> None:
    for bad in ("-1", "ten", "1.5", "٣"):
        query = with_pkce(max_age=bad)
        assert redirect_error(env, authorize(env, agent, **query),
                              query["state"]) == "invalid_request"


def test_a_body_that_is_not_form_encoded_is_an_error_page(env: Env,
                                                          agent: httpx.Client) -> None:
    response = agent.post(env.url("/authorize"), content=b'{"client_id": "rp"}',
                            headers={"content-type": "application/json"})
    error_page(response)


def test_a_second_client_with_its_own_redirect_uris(env: Env, agent: httpx.Client) -> None:
    add_client(env, "other", redirect_uris=["https://other.example.com/cb"])
    # rp's redirect URI is not other's: never a redirect to it.
    error_page(authorize(env, agent, **with_pkce(client_id="other")))
