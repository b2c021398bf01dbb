"""A Keycloak-like IAM brokering sign-in to Nidan (see tests/interop/broker.py for what it
does and why): ``client_secret_post`` without PKCE (Keycloak's default) or ``private_key_jwt``
with PKCE; ``prompt=login`` asks the password again despite a live session; ``acr_values``
asks a code even on a trusted browser; the person signs out at the provider, the broker gets
a back-channel logout token for the session it signed in with, and its refresh tokens die."""

from __future__ import annotations

import time

import httpx
import pytest
from tests.interop.broker import CLIENT_ID, Broker
from tests.interop.browser import visit
from tests.live_server import free_port
from tests.oidc.helpers import Env, csrf_form, make_user
from tests.oidc.receiver import receiving

from idp.login import ACR_2SV, ACR_TRUSTED_BROWSER

AMR_CODE = ["pwd", "otp", "mfa"]


@pytest.mark.parametrize(("auth", "use_pkce"), [("client_secret_post", False),
                                                ("private_key_jwt", True)])
def test_a_keycloak_like_broker(env: Env, agent: httpx.Client, auth: str,
                                use_pkce: bool) -> None:
    port = free_port()
    broker = Broker.register(env, auth=auth, use_pkce=use_pkce, port=port)
    user = make_user(env, enroll=True)
    with receiving(env.base, CLIENT_ID, port) as receiver:
        # 1. The first brokered sign-in: password and a code; the person trusts this browser.
        login = broker.start(login_hint=user.email)
        seen = visit(env, agent, login.url, user.email, trust=True)
        assert seen.pages == ["/login", "/login/code"]
        first = broker.finish(login, seen.back_to(broker.redirect_uri))
        assert first.claims["sub"] == user.id
        assert first.claims["acr"] == ACR_2SV
        assert first.claims["amr"] == AMR_CODE

        # 2. The broker is set to "prompt: login": the password again, live session or not.
        #    The trusted browser stands in for the code, and the acr says so.
        before = int(time.time())
        login = broker.start(prompt="login")
        seen = visit(env, agent, login.url, user.email)
        assert seen.pages == ["/login"]
        second = broker.finish(login, seen.back_to(broker.redirect_uri))
        assert second.claims["sub"] == user.id
        assert second.claims["acr"] == ACR_TRUSTED_BROWSER
        assert second.claims["amr"] == ["pwd"]
        assert second.claims["auth_time"] >= before  # when the password was entered again

        # 3. A sign-in that asks acr_values=urn:nidan:acr:2sv: a code, trusted browser or not.
        login = broker.start(acr_values=ACR_2SV)
        seen = visit(env, agent, login.url, user.email)
        assert seen.pages == ["/login/code"]
        third = broker.finish(login, seen.back_to(broker.redirect_uri))
        assert third.claims["acr"] == ACR_2SV
        assert third.claims["amr"] == AMR_CODE
        assert third.claims["auth_time"] == second.claims["auth_time"]  # no new password
        assert env.services.sessions.by_sid(third.claims["sid"]) is not None

        # While the session lives, the broker may refresh ("Store tokens").
        refreshed = broker.refresh(third.refresh_token)
        assert refreshed.status_code == 200, refreshed.text
        latest = refreshed.json()["refresh_token"]
        if auth == "private_key_jwt":
            # Each assertion's jti is accepted once (RFC 7523 3 item 7): a replay is refused
            # before the grant is looked at, and leaves the refresh token unspent.
            assertion = broker.assertion()
            spent = broker.refresh(latest, assertion)
            assert spent.status_code == 200, spent.text
            latest = spent.json()["refresh_token"]
            replayed = broker.refresh(latest, assertion)
            assert replayed.status_code in (400, 401), replayed.text
            assert replayed.json()["error"] == "invalid_client"
            assert len(set(broker.jtis)) == len(broker.jtis)
        assert receiver.received == []  # nothing has ended yet

        # 4. The person signs out at the provider's end-session page (no hint: a question).
        page = agent.get(env.url("/logout"))
        assert page.status_code == 200
        fields = csrf_form(page.text, "/logout/confirm")
        confirmed = agent.post(env.url("/logout/confirm"),
                               data={**fields, "decision": "logout"})
        assert confirmed.status_code in (200, 303)
        logout = receiver.wait()
        assert receiver.refused == []
        assert logout["aud"] == CLIENT_ID
        assert logout["iss"] == env.base
        assert logout["sub"] == user.id
        assert logout["sid"] == third.claims["sid"]  # the broker finds its session by sid
        assert env.services.sessions.by_sid(third.claims["sid"]) is None

    # 5. The broker's refresh tokens from that session are refused now.
    for token in (latest, first.refresh_token, second.refresh_token):
        after = broker.refresh(token)
        assert after.status_code == 400, after.text
        assert after.json()["error"] == "invalid_grant"
