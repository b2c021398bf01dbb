"""Attack 13's CSRF sweep: every state-changing POST route a browser's cookies authorize, sent
with no token, with another session's token, with ``Origin: null`` and from a foreign origin:
403 each time, and the person's state unchanged (in-process provider over real HTTP).

Routes left out, and why: ``/token``, ``/revoke``, ``/introspect``, ``/userinfo`` are
authenticated by a client secret or a bearer token, never by the browser's cookies, and so is
everything under ``/admin/api/`` and ``/scim/v2/`` (client_credentials tokens; tests/admin
and tests/scim refuse them without one);
``POST /authorize`` and ``POST /logout`` are the form-encoded twins of their GET requests
(OIDC Core 3.1.2.1, RP-Initiated Logout 2) and change nothing until a token-checked form
(consent, logout confirmation) is posted. The sweep fails if a route appears that is in
neither list."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from idp.app import create_app
from tests.oidc.helpers import Env, add_client, csrf_form, make_user, provider_env, sign_in

NOT_COOKIE_AUTHORIZED = {"/token", "/revoke", "/introspect", "/userinfo", "/authorize",
                         "/logout"}
BEARER_ONLY_PREFIX = ("/admin/api/", "/scim/v2/")
FOREIGN = "https://evil.example"


def post_routes(routes: list[Any], prefix: str = "") -> list[str]:
    found: list[str] = []
    for route in routes:
        if isinstance(route, Mount):
            found += post_routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route) and route.methods and "POST" in route.methods:
            found.append(prefix + route.path)
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with provider_env(tmp_path_factory.mktemp("csrf")) as running:
        add_client(running)
        yield running


def snapshot(env: Env, user_id: str, http: httpx.Client) -> tuple[Any, ...]:
    user = env.services.accounts.get(user_id)
    assert user is not None
    account = http.get(env.url("/account"))
    return (user, env.services.devices.count(user), account.status_code,
            'action="/account/sign-out"' in account.text)


def test_every_state_changing_post_refuses_forged_requests(
    site: Env, caplog: pytest.LogCaptureFixture,
) -> None:
    routes = [r.replace("{role}", "primary") for r in post_routes(
        list(create_app(site.settings, site.services).routes))]
    swept = [r for r in routes
             if r not in NOT_COOKIE_AUTHORIZED and not r.startswith(BEARER_ONLY_PREFIX)]
    assert len(swept) >= 30, swept
    victim = make_user(site, "csrf-victim@example.com", enroll=True)
    other = make_user(site, "csrf-other@example.com", enroll=True)
    with httpx.Client(timeout=10) as mine, httpx.Client(timeout=10) as theirs:
        sign_in(site, mine, victim)
        sign_in(site, theirs, other)
        theirs_token = csrf_form(theirs.get(site.url("/account")).text,
                                 "/account/sign-out")["csrf_token"]
        mine_token = csrf_form(mine.get(site.url("/account")).text,
                               "/account/sign-out")["csrf_token"]
        before = snapshot(site, victim.id, mine)
        assert before[2:] == (200, True)
        attempts = {
            "no token": ({}, {}),
            "another session's token": ({"csrf_token": theirs_token}, {}),
            "Origin: null, no token": ({}, {"origin": "null"}),
            "Origin: null, another session's token": ({"csrf_token": theirs_token},
                                                       {"origin": "null"}),
            "foreign origin": ({}, {"origin": FOREIGN}),
            "foreign origin, own valid token": ({"csrf_token": mine_token},
                                                {"origin": FOREIGN}),
            "cross-site fetch metadata": ({"csrf_token": mine_token},
                                          {"sec-fetch-site": "cross-site"}),
        }
        answers: dict[tuple[str, str], int] = {}
        caplog.set_level(logging.WARNING)
        for route in swept:
            for name, (form, headers) in attempts.items():
                caplog.clear()
                response = mine.post(site.url(route), data={"code": "123456", **form},
                                     headers=headers)
                answers[(route, name)] = response.status_code
                if response.status_code == 403 and name.startswith(("foreign", "cross")):
                    # The origin alone refuses it, whatever the token.
                    assert "cross_origin" in caplog.text, (route, name, caplog.text)
        not_refused = {key: status for key, status in answers.items() if status != 403}
        assert not_refused == {}
        assert snapshot(site, victim.id, mine) == before
    print(f"attack 13 CSRF: {len(swept)} routes x {len(attempts)} forgeries = {len(answers)}"
          " requests, all 403, no state change")
