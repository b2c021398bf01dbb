"""The promise (BEHAVIOUR): no authorization code or token without a second factor passed in
this sign-in, or a browser the person trusted. Each way around it is tried and refused."""

from __future__ import annotations

import httpx
from tests.oidc.helpers import (
    PASSWORD,
    REDIRECT,
    Env,
    authorize,
    authorize_query,
    form_with,
    make_user,
    pkce,
    query_of,
    sign_in,
    tokens_for,
)


def no_code(response: httpx.Response) -> None:
    location = response.headers.get("location", "")
    assert "code=" not in location, location
    assert 'name="code"' not in response.text


def saved_requests(env: Env) -> list[str]:
    return [key.removeprefix("oidc-authz:") for key in env.services.store.scan("oidc-authz:")]


def start(env: Env, agent: httpx.Client, **params: str) -> httpx.Response:
    _verifier, challenge = pkce()
    return authorize(env, agent, **authorize_query(code_challenge=challenge,
                                                   code_challenge_method="S256", **params))


def test_prompt_none_without_a_session(env: Env, agent: httpx.Client) -> None:
    response = start(env, agent, prompt="none")
    no_code(response)
    assert query_of(response.headers["location"])["error"] == "login_required"


def test_someone_elses_id_token_hint(env: Env, agent: httpx.Client) -> None:
    sign_in(env, agent, make_user(env, "alice@example.com"))
    hint = tokens_for(env, agent)["id_token"]
    with httpx.Client() as mallory:
        sign_in(env, mallory, make_user(env, "mallory@example.com"))
        response = start(env, mallory, prompt="none", id_token_hint=hint)
        no_code(response)
        assert query_of(response.headers["location"])["error"] == "login_required"


def test_password_only_then_jumping_to_the_resume_url(env: Env, agent: httpx.Client) -> None:
    """The sign-in is left after the password, before the code: skipping to the resume
    step gives the client an error, not a code."""
    user = make_user(env, enroll=True)
    first = start(env, agent)
    page = agent.get(env.url(first.headers["location"]))
    fields = form_with(page.text, "/login")
    fields.update(email=user.email, password=PASSWORD)
    after_password = agent.post(env.url("/login"), data=fields)
    assert after_password.headers["location"].startswith("/login/code")
    [saved] = saved_requests(env)
    resumed = agent.get(env.url(f"/authorize/resume?r={saved}"))
    no_code(resumed)
    assert query_of(resumed.headers["location"])["error"] == "login_required"


def test_a_replayed_transaction(env: Env, agent: httpx.Client) -> None:
    start(env, agent)
    [saved] = saved_requests(env)
    sign_in(env, agent, make_user(env))
    once = agent.get(env.url(f"/authorize/resume?r={saved}"))
    assert once.headers["location"].startswith(REDIRECT)
    replayed = agent.get(env.url(f"/authorize/resume?r={saved}"))
    no_code(replayed)
    assert replayed.status_code == 400


def test_a_session_without_a_known_authentication_class(env: Env, agent: httpx.Client) -> None:
    user = make_user(env)
    session, cookie = env.services.sessions.create(
        user_id=user.id, epoch=user.security_epoch, amr=("pwd",), acr="password-only",
        auth_time=0.0, second_factor_at=None)
    agent.cookies.set(cookie.name, cookie.value)
    response = start(env, agent, prompt="none")
    no_code(response)
    assert query_of(response.headers["location"])["error"] == "login_required"
    assert session.acr == "password-only"


def test_refresh_after_the_second_factor_was_reset(env: Env, agent: httpx.Client) -> None:
    user = make_user(env, enroll=True)
    sign_in(env, agent, user)
    tokens = tokens_for(env, agent)
    env.services.methods.reset(user.id, actor="operator")
    env.services.accounts.bump_epoch(user.id, reason="reset-2sv", actor="operator")
    refreshed = httpx.post(env.url("/token"), data={"grant_type": "refresh_token",
                                                    "refresh_token": tokens["refresh_token"]},
                           auth=("rp", env.secrets["rp"]))
    assert refreshed.json()["error"] == "invalid_grant"
    # And the old SSO session no longer counts: a new sign-in is needed.
    response = start(env, agent, prompt="none")
    no_code(response)
    assert query_of(response.headers["location"])["error"] == "login_required"
