"""What the provider's tests share: a live provider on loopback whose issuer is its real URL,
a clock the test moves, clients, people, SSO sessions, PKCE, and the real sign-in journey
(password, then a TOTP code computed from the imported secret)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
from tests.conftest import make_settings
from tests.html_forms import forms
from tests.live_server import free_port, live_server

from idp.app import create_app
from idp.login import ACR_2SV
from idp.oidc.clients import ClientConfig, hash_secret, new_secret
from idp.oidc.config import OidcSettings
from idp.oidc.keys import RECORD_KEY
from idp.oidc.provider import OidcProvider
from idp.services import Services, build_services
from idp.sessions import SsoSession
from idp.settings import Settings
from idp.users import User, method_user

PASSWORD = "correct horse battery staple"
TOTP_SECRET = pyotp.random_base32()
REDIRECT = "https://rp.example.com/callback"
AMR_CODE = ("pwd", "otp", "mfa")


class Clock:
    """The provider's clock; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Env:
    base: str
    settings: Settings
    services: Services
    clock: Clock
    secrets: dict[str, str] = field(default_factory=dict)
    used_steps: set[int] = field(default_factory=set)  # TOTP steps entered (each works once)

    @property
    def provider(self) -> OidcProvider:
        return self.services.oidc

    def url(self, path: str) -> str:
        return self.base + path


def oidc_test_settings(**overrides: Any) -> OidcSettings:
    values: dict[str, Any] = {"clients_file": None, "backchannel_poll_s": 0.05,
                              "backchannel_retry_base_s": 0.05, "backchannel_retry_max_s": 0.2,
                              "backchannel_timeout_s": 2.0, "key_prepublish_s": 3600}
    return OidcSettings(**{**values, **overrides})




_KEYS: list[bytes] = []  # one signing-key record for the whole run (RSA keygen costs ~0.1 s)


def build_env_services(settings: Settings, clock: Clock, **oidc: Any) -> Services:
    services = build_services(settings)
    services.oidc = OidcProvider(settings, services.store, services.audit, services.accounts,
                                 services.sessions, oidc=oidc_test_settings(**oidc), clock=clock)
    if _KEYS:  # sealed under the tests' one data key, so any test's store can use it
        services.store.add(RECORD_KEY, _KEYS[0])
    else:
        services.oidc.keys.ring()
        raw = services.store.get(RECORD_KEY)
        assert raw is not None
        _KEYS.append(raw)
    return services


@contextmanager
def provider_env(tmp_path: Path, *, clock: Clock | None = None, port: int | None = None,
                 services: Services | None = None, **oidc: Any) -> Iterator[Env]:
    """A provider serving on 127.0.0.1 with ``issuer`` = its own URL."""
    port = port or free_port()
    clock = clock or Clock()
    settings = make_settings(tmp_path, server={"issuer": f"http://127.0.0.1:{port}"})
    owned = services is None
    services = services or build_env_services(settings, clock, **oidc)
    try:
        with live_server(create_app(settings, services), port=port) as base:
            yield Env(base=base, settings=settings, services=services, clock=clock)
    finally:
        if owned:
            services.close()


def add_client(env: Env, client_id: str = "rp", **overrides: Any) -> str:
    """Register a confidential client in the store; returns its secret."""
    secret = new_secret()
    data: dict[str, Any] = {"client_id": client_id, "client_name": f"Tool {client_id}",
                            "redirect_uris": [REDIRECT], "secret_hash": hash_secret(secret),
                            "post_logout_redirect_uris": ["https://rp.example.com/bye"],
                            "skip_consent": True}
    data.update(overrides)
    env.provider.clients.add(ClientConfig.model_validate(data), actor="test")
    env.secrets[client_id] = secret
    return secret


def make_user(env: Env, email: str = "seller@example.com", *, enroll: bool = False) -> User:
    user = env.services.accounts.create(email, display_name="Seller One", locale="ja",
                                        password=PASSWORD, actor="test")
    if enroll:
        env.services.methods.import_credentials(method_user(user), [
            ("totp", "primary", {"secret": TOTP_SECRET}),
            ("sms", "backup", {"phone": "+819012345678"}),
        ])
        refreshed = env.services.accounts.get(user.id)
        assert refreshed is not None
        user = refreshed
    return user


def sign_in(env: Env, http: httpx.Client, user: User, *, acr: str = ACR_2SV,
            auth_time: float | None = None) -> SsoSession:
    """An SSO session as the sign-in journey leaves it, its cookie set on ``http``."""
    now = time.time()
    fresh = env.services.accounts.get(user.id)
    assert fresh is not None
    session, cookie = env.services.sessions.create(
        user_id=user.id, epoch=fresh.security_epoch,
        amr=AMR_CODE if acr == ACR_2SV else ("pwd",), acr=acr,
        auth_time=now if auth_time is None else auth_time,
        second_factor_at=now if acr == ACR_2SV else None)
    http.cookies.set(cookie.name, cookie.value)
    return session


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_query(client_id: str = "rp", **params: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
            "scope": "openid profile email", "state": "st-" + secrets.token_hex(4),
            "nonce": "n-" + secrets.token_hex(4), **params}


def pkce_query(client_id: str = "rp", **params: str) -> tuple[dict[str, str], str]:
    """An authorization request (:func:`authorize_query`) with a fresh S256 PKCE challenge,
    and the verifier."""
    verifier, challenge = pkce()
    return authorize_query(client_id, code_challenge=challenge, code_challenge_method="S256",
                           **params), verifier


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def authorize(env: Env, http: httpx.Client, **params: str) -> httpx.Response:
    return http.get(env.url("/authorize?" + urlencode(params)))


def code_flow(env: Env, http: httpx.Client, client_id: str = "rp", **params: str
              ) -> tuple[dict[str, str], str]:
    """Authorize with PKCE and return (the redirect's query parameters, the verifier)."""
    query, verifier = pkce_query(client_id, **params)
    response = authorize(env, http, **query)
    assert response.status_code == 303, response.text[:500]
    location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    return query_of(location), verifier


def exchange(env: Env, code: str, verifier: str | None, client_id: str = "rp",
             **extra: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    if verifier is not None:
        data["code_verifier"] = verifier
    return httpx.post(env.url("/token"), data=data,
                      auth=(client_id, env.secrets[client_id]))


def tokens_for(env: Env, http: httpx.Client, client_id: str = "rp", **params: str
               ) -> dict[str, Any]:
    query, verifier = code_flow(env, http, client_id, **params)
    response = exchange(env, query["code"], verifier, client_id)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- the real sign-in journey -----------------------------------------------------------


def fresh_totp(used: set[int]) -> str:
    """A TOTP code of the imported secret that was not entered before: each time step is
    accepted once (S5), and one step either side of now (clock drift), so a test may sign in
    up to three times in 30 seconds."""
    now = int(time.time()) // 30
    for step in (now, now + 1, now - 1):
        if step not in used:
            used.add(step)
            return pyotp.TOTP(TOTP_SECRET).at(step * 30)
    raise AssertionError("more than three sign-ins with a code within one TOTP window")


# What the journey's forms send: their hidden, text, e-mail and password inputs.
_SENT = ("hidden", None, "text", "email", "password")


def forms_of(html: str) -> list[dict[str, Any]]:
    return [{"action": found.action,
             "fields": {attrs.get("name") or "": attrs.get("value") or ""
                        for attrs in found.inputs if attrs.get("type") in _SENT}}
            for found in forms(html)]


def form_with(html: str, action: str) -> dict[str, str]:
    for found in forms_of(html):
        if found["action"] == action:
            fields: dict[str, str] = found["fields"]
            return fields
    raise AssertionError(f"no form posting to {action} in the page")


def journey(env: Env, http: httpx.Client, start: httpx.Response, email: str, *,
            code: bool = True, trust: bool = False) -> httpx.Response:
    """Follow the sign-in pages from ``start`` (a 303 into /login) to the response that
    leaves the provider (a redirect to the client, or a page). Password, then a TOTP code
    computed from the secret imported for the person."""
    response = start
    for _ in range(12):
        if response.status_code != 303:
            return response
        location = response.headers["location"]
        if not location.startswith("/"):
            return response  # leaving the provider
        page = http.get(env.url(location))
        path = urlsplit(location).path
        if page.status_code == 303:
            response = page
            continue
        assert page.status_code == 200, (path, page.status_code, page.text[:300])
        if path == "/login":
            fields = form_with(page.text, "/login")
            fields.update(email=email, password=PASSWORD)
            response = http.post(env.url("/login"), data=fields)
        elif path == "/login/code":
            assert code, "a code was asked although none was expected"
            fields = form_with(page.text, "/login/code")
            fields["code"] = fresh_totp(env.used_steps)
            if trust:
                fields["trust"] = "1"
            response = http.post(env.url("/login/code"), data=fields)
            assert response.status_code == 303, response.text[-800:]
        else:
            return page
    raise AssertionError("the sign-in journey did not end")


def csrf_form(html: str, action: str) -> dict[str, str]:
    fields = form_with(html, action)
    assert fields.get("csrf_token"), "the form carries no CSRF token"
    return fields


def unverified(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def header_of(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return data



def verify_jwt(env: Env, token: str) -> dict[str, Any]:
    """Claims of a JWT whose signature checks against the provider's published JWKS."""
    from joserfc import jwk, jwt

    keys = jwk.KeySet.import_key_set(httpx.get(env.url("/jwks.json")).json())
    claims: dict[str, Any] = jwt.decode(token, keys, algorithms=["RS256", "ES256"]).claims
    return claims
