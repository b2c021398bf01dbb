"""The sign-in and token steps the attacks drive over real HTTP, one person at a time.

Every person gets their own TOTP secret (app primary) and SMS backup, so a TOTP step used by
one test never collides with another's (S5: each step is accepted once per credential).
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pyotp

from idp.oidc.clients import ClientConfig, hash_secret, new_secret
from idp.users import User, method_user
from tests.attacks._servers import Served
from tests.oidc.helpers import PASSWORD, REDIRECT, form_with, pkce_query, query_of

_numbers = itertools.count(10_000_000)


@dataclass
class Person:
    user: User
    email: str
    totp: pyotp.TOTP
    phone: str


@dataclass
class Client:
    client_id: str
    secret: str


def make_person(served: Served, tag: str) -> Person:
    services = served.services
    assert services is not None
    email = f"{tag}-{secrets.token_hex(4)}@example.com"
    user = services.accounts.create(email, display_name="Seller", locale="en",
                                    password=PASSWORD, actor="test")
    secret = pyotp.random_base32()
    phone = f"+8190{next(_numbers) % 100_000_000:08d}"
    services.methods.import_credentials(method_user(user), [
        ("totp", "primary", {"secret": secret}),
        ("sms", "backup", {"phone": phone}),
    ])
    fresh = services.accounts.get(user.id)
    assert fresh is not None
    return Person(fresh, email, pyotp.TOTP(secret), phone)


def make_client(served: Served, **overrides: Any) -> Client:
    assert served.env is not None
    client_id = "rp-" + secrets.token_hex(4)
    secret = new_secret()
    data: dict[str, Any] = {"client_id": client_id, "client_name": "Tool",
                            "redirect_uris": [REDIRECT], "secret_hash": hash_secret(secret),
                            "skip_consent": True, **overrides}
    served.env.provider.clients.add(ClientConfig.model_validate(data), actor="test")
    return Client(client_id, secret)


@dataclass
class Journey:
    """One browser's sign-in in progress: its client, the PKCE verifier, the code form."""

    http: httpx.Client
    client: Client
    verifier: str
    start: str = "/login"  # where the authorization request sent the browser
    code_form: dict[str, str] | None = None


def begin(served: Served, http: httpx.Client, client: Client) -> Journey:
    query, verifier = pkce_query(client.client_id, scope="openid profile email offline_access")
    response = http.get("/authorize?" + urlencode(query))
    assert response.status_code == 303, response.text[:300]
    return Journey(http, client, verifier, response.headers["location"])


def password(journey: Journey, person: Person) -> httpx.Response:
    """The password step; on success the browser is at the code page (its form kept)."""
    http = journey.http
    page = http.get(journey.start)
    fields = form_with(page.text, "/login")
    fields.update(email=person.email, password=PASSWORD)
    response = http.post("/login", data=fields)
    if response.status_code == 303 and urlsplit(response.headers["location"]).path == (
        "/login/code"
    ):
        code_page = http.get("/login/code")
        journey.code_form = form_with(code_page.text, "/login/code")
    return response


def submit_code(journey: Journey, code: str, *, http: httpx.Client | None = None,
                trust: bool = False) -> httpx.Response:
    assert journey.code_form is not None
    data = {**journey.code_form, "code": code}
    if trust:
        data["trust"] = "1"
    return (http or journey.http).post("/login/code", data=data)


def finish(served: Served, journey: Journey, response: httpx.Response) -> str | None:
    """Follow a right code's redirect to the client; the authorization code, or None."""
    http = journey.http
    for _ in range(8):
        if response.status_code == 200 and 'action="/authorize/consent"' in response.text:
            # offline_access (a refresh token) is always asked of the person.
            fields = form_with(response.text, "/authorize/consent")
            response = http.post("/authorize/consent", data={**fields, "decision": "approve"})
            continue
        if response.status_code != 303:
            served.last_refusal = response
            return None
        location = response.headers["location"]
        if location.startswith(REDIRECT):
            return query_of(location).get("code")
        response = http.get(location)
    return None


def redeem(served: Served, journey: Journey, code: str,
           http: httpx.Client | None = None) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": journey.verifier}
    client = journey.client
    return (http or journey.http).post("/token", data=data,
                                       auth=(client.client_id, client.secret))


def wrong_code(right: str) -> str:
    """A six-digit code that is not ``right`` (nor a neighbouring step's, for TOTP)."""
    while True:
        guess = f"{secrets.randbelow(1_000_000):06d}"
        if guess != right:
            return guess


def totp_now(person: Person) -> str:
    return person.totp.at(time.time())


def signed_in_tokens(served: Served, http: httpx.Client, person: Person, client: Client
                     ) -> dict[str, Any]:
    """A whole sign-in (password, a fresh TOTP code) and the token response."""
    journey = begin(served, http, client)
    assert password(journey, person).status_code == 303
    code = finish(served, journey, submit_code(journey, totp_now(person)))
    assert code is not None
    response = redeem(served, journey, code)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def signed_in(response: httpx.Response) -> bool:
    """A code step's answer that ends the sign-in (a redirect out of /login)."""
    return response.status_code == 303 and not response.headers["location"].startswith("/login")
