"""The suite's relying party: it builds authorization requests the way the certification
suite does, drives a cookie-keeping browser through the provider's real pages (password and
a TOTP code computed from the imported secret, consent when asked), and reads what reaches
its redirect URI - a query redirect or an auto-submitting ``form_post`` page - then calls the
token and UserInfo endpoints with real client authentication."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import httpx
from tests.conformance.harness import CALLBACK, Op, SuiteClient
from tests.html_forms import page
from tests.oidc.helpers import csrf_form, journey, query_of

__all__ = ["FORM_POST", "QUERY", "Callback", "Flow", "authorization_request", "authorize",
           "callback_of", "exchange", "is_login_page", "parse_forms", "proceed",
           "sends_browser_to", "token_request", "userinfo"]

QUERY: Final = "query"
FORM_POST: Final = "form_post"


@dataclass(frozen=True)
class Callback:
    """What the browser delivered to the client's redirect URI."""

    method: str  # GET for a query redirect, POST for form_post
    url: str  # the redirect URI as the browser addressed it (a form's action)
    params: dict[str, str]
    content_type: str | None  # of the POST body (a form's enctype)
    script_submits: bool = False  # the form_post page submits itself


@dataclass
class Flow:
    """One authorization request and what came of it."""

    request: dict[str, str]
    response: httpx.Response  # the provider's last answer to the browser
    callback: Callback | None
    signed_in: bool  # the sign-in pages were shown

    @property
    def params(self) -> dict[str, str]:
        assert self.callback is not None, (
            f"nothing reached the client: {self.response.status_code} "
            f"{self.response.text[:300]}")
        return self.callback.params

    @property
    def code(self) -> str:
        code = self.params.get("code")
        assert code, self.params
        return code


def authorization_request(op: Op, mode: str, *, client: SuiteClient | None = None,
                          nonce: bool = True, state_length: int = 10, **extra: str
                          ) -> dict[str, str]:
    """``CreateAuthorizationRequestSteps``: client, redirect URI, scope, a random state and
    nonce, ``response_type=code``, and ``response_mode=form_post`` in the form post plan."""
    client = client or op.client
    request = {"client_id": client.client_id, "redirect_uri": CALLBACK, "scope": client.scope,
               "state": secrets.token_urlsafe(state_length)[:state_length],
               "response_type": "code"}
    if nonce:
        request["nonce"] = secrets.token_urlsafe(10)
    if mode == FORM_POST:
        request["response_mode"] = FORM_POST
    request.update(extra)
    return request


def parse_forms(html: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The forms of a page (action, method, enctype, fields) and its inline scripts."""
    found = page(html)
    return [{"action": form.action, "method": form.method, "enctype": form.enctype,
             "fields": {attrs["name"]: attrs.get("value") or ""
                        for attrs in form.inputs if attrs.get("name") is not None}}
            for form in found.forms], found.scripts


def callback_of(response: httpx.Response, redirect_uri: str = CALLBACK) -> Callback | None:
    """What reaches ``redirect_uri`` from this answer of the provider, if anything: a 3xx to
    it (query), or a page whose form posts to it (form_post; the browser submits it)."""
    location = response.headers.get("location", "")
    if response.is_redirect and location.split("?", 1)[0] == redirect_uri:
        return Callback("GET", location, query_of(location), None)
    if response.status_code == 200 and "text/html" in response.headers.get("content-type", ""):
        forms, scripts = parse_forms(response.text)
        for form in forms:
            if form["action"].split("?", 1)[0] == redirect_uri:
                submits = any("submit()" in script for script in scripts)
                return Callback(form["method"].upper(), form["action"], dict(form["fields"]),
                                form["enctype"], submits)
    return None


def sends_browser_to(response: httpx.Response, uri: str) -> bool:
    """Whether this answer makes the browser go to ``uri`` by itself: a redirect, a form
    (auto-submitted or not), or a refresh. A plain link is not a call."""
    if response.headers.get("location", "").startswith(uri):
        return True
    forms, _scripts = parse_forms(response.text)
    if any(form["action"].startswith(uri) for form in forms):
        return True
    refresh = re.search(r'http-equiv="refresh"[^>]*>', response.text, re.IGNORECASE)
    return refresh is not None and uri in refresh.group(0)


def is_login_page(response: httpx.Response) -> bool:
    """The provider sent the browser to its sign-in journey."""
    return response.is_redirect and response.headers.get("location", "").startswith("/login")


def _approve_consent(op: Op, browser: httpx.Client, page: httpx.Response) -> httpx.Response:
    fields = csrf_form(page.text, "/authorize/consent")
    return browser.post(op.env.url("/authorize/consent"), data={**fields, "decision": "approve"})


def _is_consent_page(response: httpx.Response) -> bool:
    return response.status_code == 200 and 'action="/authorize/consent"' in response.text


def authorize(op: Op, browser: httpx.Client, request: dict[str, str], *,
              sign_in: bool = True, method: str = "GET", query: str | None = None) -> Flow:
    """Send the browser to the authorization endpoint (GET, or a POSTed form), sign in
    through the real pages when asked and ``sign_in`` allows, answer the consent page yes,
    and see what reaches the client. ``query`` replaces the encoded request (a hand-built
    URL, as for request objects)."""
    endpoint = op.endpoint("authorization_endpoint")
    if method == "POST":
        response = browser.post(endpoint, data=request)
    else:
        response = browser.get(endpoint + "?" + (query or urlencode(request)))
    return proceed(op, browser, request, response, sign_in=sign_in)


def proceed(op: Op, browser: httpx.Client, request: dict[str, str], response: httpx.Response,
            *, sign_in: bool = True) -> Flow:
    """From the provider's answer to the authorization request on: the sign-in pages (when
    ``sign_in``), the consent page, and what reaches the client."""
    signed_in = False
    if sign_in and is_login_page(response):
        response = journey(op.env, browser, response, op.user.email)
        signed_in = True
    if _is_consent_page(response):
        response = _approve_consent(op, browser, response)
    return Flow(request, response, callback_of(response), signed_in)


def exchange(op: Op, code: str, client: SuiteClient | None = None, *,
             redirect_uri: str = CALLBACK, **extra: str) -> httpx.Response:
    """``CallTokenEndpoint`` for the code, with the client's own authentication method."""
    client = client or op.client
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            **extra}
    return token_request(op, data, client)


def token_request(op: Op, data: dict[str, str], client: SuiteClient) -> httpx.Response:
    endpoint = op.endpoint("token_endpoint")
    if client.auth == "client_secret_post":
        return httpx.post(endpoint, data={**data, "client_id": client.client_id,
                                          "client_secret": client.secret})
    return httpx.post(endpoint, data=data, auth=(client.client_id, client.secret))


def userinfo(op: Op, access_token: str, how: str = "get") -> httpx.Response:
    """UserInfo as the three modules call it: GET with the bearer header, POST with the
    header, POST with ``access_token`` in the form body."""
    endpoint = op.endpoint("userinfo_endpoint")
    bearer = {"Authorization": f"Bearer {access_token}"}
    if how == "get":
        return httpx.get(endpoint, headers=bearer)
    if how == "post_header":
        return httpx.post(endpoint, headers=bearer)
    assert how == "post_body", how
    return httpx.post(endpoint, data={"access_token": access_token})


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""
