"""One person's journey over HTTP through the balancer: authorize, password, code, consent,
token, refresh, userinfo, logout. The pages are read as a browser reads them (forms, hidden
fields, CSRF tokens); nothing is taken from the server's inside.

A request that fails the way a replica or a store in trouble fails (connection dropped, a
5xx page) is sent again after a pause, as a person would press reload; each such retry is
counted, so tests can report how often a person was asked to try again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from tests.oidc.helpers import form_with, pkce_query, query_of, unverified
from tests.replicas.deployment import BYE, PASSWORD, REDIRECT, Deployment, Person

RETRIES = 8
RETRY_PAUSE_S = 0.5
MAX_STEPS = 14


class Refused(AssertionError):
    """The provider said no (what a test of an attacker expects)."""


@dataclass
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str
    claims: dict[str, Any]
    raw: dict[str, Any]


@dataclass
class Browser:
    """A person's browser: its cookies, its own client address (``local_address``)."""

    deployment: Deployment
    local_address: str | None = None
    base: str | None = None  # a replica's own address instead of the balancer's
    retries: int = 0
    asked_code: int = 0
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        transport = httpx.HTTPTransport(local_address=self.local_address or "127.0.0.1")
        self.http = httpx.Client(transport=transport, timeout=60, follow_redirects=False,
                                 headers={"Accept-Language": "en"})

    def close(self) -> None:
        self.http.close()

    def send(self, method: str, path: str, **options: Any) -> httpx.Response:
        url = path if path.startswith("http") else (self.base or self.deployment.issuer) + path
        for attempt in range(RETRIES + 1):
            try:
                response = self.http.request(method, url, **options)
            except httpx.TransportError:
                if attempt == RETRIES:
                    raise
            else:
                if response.status_code < 500 or attempt == RETRIES:
                    return response
            self.retries += 1
            time.sleep(RETRY_PAUSE_S)
        raise AssertionError("unreachable")

    def get(self, path: str) -> httpx.Response:
        return self.send("GET", path)

    def post(self, path: str, data: dict[str, str], **options: Any) -> httpx.Response:
        return self.send("POST", path, data=data, **options)


def authorize(browser: Browser, client_id: str = "rp", **extra: str
              ) -> tuple[httpx.Response, str]:
    """The client sends the person to /authorize; returns the answer and the PKCE verifier."""
    params, verifier = pkce_query(client_id, redirect_uri=REDIRECT, **extra)
    return browser.get("/authorize?" + urlencode(params)), verifier


def walk(browser: Browser, person: Person, start: httpx.Response, *, trust: bool = False,
         skip_code: bool = False) -> str:
    """Follow the provider's pages from ``start`` until it sends the person back to the
    client; returns the authorization code. ``skip_code``: an attacker with the password
    goes back to /authorize instead of entering a code (must never get one)."""
    response = start
    for _ in range(MAX_STEPS):
        if response.status_code == 303:
            location = response.headers["location"]
            if location.startswith(REDIRECT):
                query = query_of(location)
                if "code" not in query:
                    raise Refused(f"sent back without a code: {query.get('error')}")
                return query["code"]
            response = browser.get(location)
            continue
        if response.status_code != 200:
            raise Refused(f"{response.status_code}: {response.text[:200]}")
        path = urlsplit(str(response.url)).path
        if path == "/login" and 'action="/login"' in response.text:
            fields = form_with(response.text, "/login")
            fields.update(email=person.email, password=PASSWORD)
            response = browser.post("/login", fields)
        elif path == "/login/code":
            browser.asked_code += 1
            if skip_code:
                resume = browser.get("/authorize?" + urlsplit(str(start.request.url)).query)
                if resume.status_code == 303 and resume.headers["location"].startswith(
                        REDIRECT):
                    return query_of(resume.headers["location"]).get("code", "")
                raise Refused("no way around the code")
            fields = form_with(response.text, "/login/code")
            fields["code"] = person.code()
            if trust:
                fields["trust"] = "1"
            response = browser.post("/login/code", fields)
        elif 'action="/authorize/consent"' in response.text:
            fields = form_with(response.text, "/authorize/consent")
            response = browser.post("/authorize/consent", {**fields, "decision": "approve"})
        else:
            raise Refused(f"unexpected page {path}: {response.text[:300]}")
    raise AssertionError("the journey did not end")


def token(browser: Browser, client_id: str, data: dict[str, str]) -> httpx.Response:
    return browser.post("/token", data,
                        auth=(client_id, browser.deployment.secrets[client_id]))


def exchange(browser: Browser, code: str, verifier: str, client_id: str = "rp") -> Tokens:
    response = token(browser, client_id, {"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert response.status_code == 200, response.text
    return tokens_of(response)


def tokens_of(response: httpx.Response) -> Tokens:
    body = response.json()
    return Tokens(body["id_token"], body["access_token"], body.get("refresh_token", ""),
                  unverified(body["id_token"]), body)


def refresh(browser: Browser, tokens: Tokens, client_id: str = "rp") -> httpx.Response:
    return token(browser, client_id, {"grant_type": "refresh_token",
                                      "refresh_token": tokens.refresh_token})


def userinfo(browser: Browser, tokens: Tokens) -> httpx.Response:
    return browser.send("GET", "/userinfo",
                        headers={"Authorization": f"Bearer {tokens.access_token}"})


def logout(browser: Browser, tokens: Tokens) -> httpx.Response:
    params = {"id_token_hint": tokens.id_token, "post_logout_redirect_uri": BYE,
              "state": "bye"}
    return browser.get("/logout?" + urlencode(params))


def sign_in(browser: Browser, person: Person, client_id: str = "rp", *, trust: bool = False,
            **extra: str) -> Tokens:
    start, verifier = authorize(browser, client_id, **extra)
    code = walk(browser, person, start, trust=trust)
    return exchange(browser, code, verifier, client_id)
