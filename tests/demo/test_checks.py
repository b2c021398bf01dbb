"""The demo's checks. ID tokens (OIDC Core 3.1.3.7), against a real JWKS endpoint on
loopback: a token passes only with our signature, issuer, audience, nonce, lifetime and
at_hash. Callbacks: only in the browser that started the sign-in, once, and a provider's
error is shown as such."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwk, jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idp.app import create_app
from idp.demo.client import DemoClient, register_demo_client
from idp.demo.relying_party import DemoError, DemoRelyingParty
from idp.services import build_services
from tests.conftest import make_settings
from tests.live_server import free_port, live_server
from tests.login.helpers import form

ACCESS_TOKEN = "an-access-token"
NONCE = "n-0123456789"
KEY = jwk.RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
OTHER_KEY = jwk.RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """A provider stand-in publishing one RS256 key at /jwks.json."""

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse(jwk.KeySet([KEY]).as_dict(private=False))

    with live_server(Starlette(routes=[Route("/jwks.json", jwks)])) as base:
        yield base


def at_hash(token: str) -> str:
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def id_token(issuer: str, key: jwk.RSAKey = KEY, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "sub": "person-1", "aud": "nidan-demo", "azp": "nidan-demo",
              "iat": now, "exp": now + 600, "auth_time": now, "nonce": NONCE,
              "at_hash": at_hash(ACCESS_TOKEN), **changes}
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def verify(issuer: str, token: str) -> dict[str, Any]:
    party = DemoRelyingParty(issuer, DemoClient("nidan-demo", "x" * 43, issuer + "/cb",
                                                issuer + "/demo"))
    return party.verify_id_token(token, {"jwks_uri": issuer + "/jwks.json"}, nonce=NONCE,
                                 access_token=ACCESS_TOKEN)


def test_a_token_of_the_issuer_for_this_client_passes(issuer: str) -> None:
    assert verify(issuer, id_token(issuer))["sub"] == "person-1"


@pytest.mark.parametrize(("changes", "detail"), [
    ({"nonce": "n-replayed-elsewhere"}, "nonce"),
    ({"nonce": None}, "missing_claim"),
    ({"aud": "another-client"}, "invalid_claim"),
    ({"iss": "https://mix-up.example"}, "invalid_claim"),
    ({"exp": int(time.time()) - 3600}, "expired_token"),
    ({"aud": ["nidan-demo", "another-client"], "azp": "another-client"}, "azp"),
    ({"at_hash": at_hash("another-access-token")}, "at_hash"),
])
def test_a_token_failing_a_check_is_refused(issuer: str, changes: dict[str, Any],
                                            detail: str) -> None:
    with pytest.raises(DemoError) as refused:
        verify(issuer, id_token(issuer, **changes))
    assert refused.value.reason == "id_token"
    assert refused.value.detail == detail


def test_a_token_signed_by_another_key_is_refused(issuer: str) -> None:
    with pytest.raises(DemoError) as refused:
        verify(issuer, id_token(issuer, key=OTHER_KEY))
    assert (refused.value.reason, refused.value.detail) == ("id_token", "bad_signature")


def test_a_callback_not_started_in_this_browser_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo's client secret would be in ./var: there is none
    port = free_port()
    settings = make_settings(tmp_path, server={"issuer": f"http://127.0.0.1:{port}",
                                               "dev": True})
    with live_server(create_app(settings), port=port) as base, httpx.Client(
        base_url=base, headers={"Accept-Language": "en"}
    ) as browser:
        forged = browser.get("/demo/callback?code=stolen&state=guessed")
        no_token = browser.post("/demo/login")
        page = browser.get("/demo")
        unregistered = browser.post("/demo/login", data=form(page.text, "/demo/login").hidden)
    assert forged.status_code == 400
    assert "doesn't belong to a sign-in started in this browser" in forged.text
    assert no_token.status_code == 403  # CSRF: the form's token is missing
    # Without `idp serve --dev` in this directory there is no demo client: it says so.
    assert unregistered.status_code == 503
    assert "isn't registered here" in unregistered.text


def test_a_callback_is_taken_once_and_only_in_its_own_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    port = free_port()
    settings = make_settings(tmp_path, server={"issuer": f"http://127.0.0.1:{port}",
                                               "dev": True})
    with closing(build_services(settings)) as services:
        assert register_demo_client(services) is None  # what `idp serve --dev` does
        with live_server(create_app(settings, services), port=port) as base, httpx.Client(
            base_url=base, headers={"Accept-Language": "en"}
        ) as browser, httpx.Client(base_url=base, headers={"Accept-Language": "en"}) as other:
            page = browser.get("/demo")
            started = browser.post("/demo/login", data=form(page.text, "/demo/login").hidden)
            assert started.status_code == 303
            state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
            # The provider answers with an error (say the person refused): the same state,
            # in another browser, is not accepted.
            answer = urlencode({"error": "access_denied", "state": state, "iss": base})
            elsewhere = other.get("/demo/callback?" + answer)
            assert elsewhere.status_code == 400
            assert "doesn't belong to a sign-in started in this browser" in elsewhere.text
            # A state is used once: the attempt above spent it.
            spent = browser.get("/demo/callback?" + answer)
            assert "doesn't belong to a sign-in started in this browser" in spent.text
            # A fresh sign-in's error, in its own browser, is shown as the provider's error.
            page = browser.get("/demo")
            started = browser.post("/demo/login", data=form(page.text, "/demo/login").hidden)
            state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
            refused = browser.get("/demo/callback?" + urlencode(
                {"error": "access_denied<script>", "state": state, "iss": base}))
            assert refused.status_code == 400
            assert "answered with an error: access_deniedscript" in refused.text
