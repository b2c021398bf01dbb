"""The demo relying party (/demo) end to end, as a newcomer meets it: a real ``idp serve
--dev`` process (one process: the demo calls the provider over HTTP from inside it) in a
temp working directory, and httpx as the browser. The demo user enrolls at first sign-in
through the real pages: the TOTP secret read from the page, the SMS code from the outbox
file ``var/outbox.jsonl``. Then a step-up with a code, then RP-initiated logout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from idp.devmode import DEMO_EMAIL, DEMO_PASSWORD
from tests.conftest import make_settings
from tests.live_server import free_port, live_server
from tests.login.helpers import MOBILE, MOBILE_E164, Authenticator, Outbox, form, secret_on_page
from tests.oidc.helpers import query_of
from tests.served import Served

ACR_2SV = "urn:nidan:acr:2sv"


@dataclass
class DevServer:
    base: str
    directory: Path
    log: Path

    @property
    def outbox(self) -> Outbox:
        return Outbox(self.directory / "var" / "outbox.jsonl")


@contextmanager
def dev_server(directory: Path) -> Iterator[DevServer]:
    """``idp serve --dev`` on a free loopback port, with ``directory`` as its working
    directory (its var/, its SQLite, its outbox), until the block ends."""
    with Served.start(None, workers=None, args=["--dev"], workdir=directory,
                      ready_path="/healthz", ready_timeout=60) as process:
        yield DevServer(process.base, directory, process.log_path)


def follow(http: httpx.Client, response: httpx.Response) -> httpx.Response:
    """Follow 303s (on this server) with GETs, as a browser does, to the page they end on."""
    for _ in range(10):
        if response.status_code not in (302, 303):
            return response
        response = http.get(response.headers["location"])
    raise AssertionError("too many redirects")


def submit(http: httpx.Client, page: httpx.Response, action: str,
           **values: str) -> httpx.Response:
    found = form(page.text, action)
    return follow(http, http.post(action, data={**found.hidden, **values}))


def path_of(response: httpx.Response) -> str:
    return urlsplit(str(response.url)).path


def claims_on(html: str, heading: str) -> dict[str, str]:
    """The claim rows (name -> shown value) of the table after ``heading``."""
    section = html.split(heading, 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row">.*?<code>([^<]+)</code></th>\s*<td>(.*?)</td>',
                      section, re.S)
    return {name: unescape(re.sub(r"<[^>]+>", "", value)).strip() for name, value in rows}


def start_sign_in(http: httpx.Client, server: DevServer, page: httpx.Response, **values: str
                  ) -> tuple[dict[str, str], httpx.Response]:
    """Press a sign-in button of the demo page: the authorization request it makes (its
    parameters) and where the provider sends the browser."""
    started = http.post("/demo/login", data={**form(page.text, "/demo/login").hidden,
                                             **values})
    assert started.status_code == 303
    location = started.headers["location"]
    assert location.startswith(server.base + "/authorize?")
    return query_of(location), follow(http, http.get(location))


def sign_out(http: httpx.Client, server: DevServer, page: httpx.Response) -> httpx.Response:
    """Press "Sign out": RP-initiated logout with id_token_hint, back to /demo."""
    out = http.post("/demo/logout", data=form(page.text, "/demo/logout").hidden)
    assert out.status_code == 303
    assert out.headers["location"].startswith(server.base + "/logout?")
    logout = query_of(out.headers["location"])
    assert logout["id_token_hint"].startswith("ey")
    # The ID token never was in the browser before: only now, as the logout hint.
    assert not any(logout["id_token_hint"] in (c.value or "") for c in http.cookies.jar)
    assert logout["client_id"] == "nidan-demo"
    assert logout["post_logout_redirect_uri"] == server.base + "/demo"
    page = follow(http, out)
    assert str(page.url).startswith(server.base + "/demo?")
    assert "You have signed out" in page.text
    assert "What the ID token says" not in page.text
    return page


@pytest.mark.slow
def test_the_demo_signs_in_through_the_provider_like_an_outside_client(tmp_path: Path) -> None:
    with dev_server(tmp_path) as server, httpx.Client(
        base_url=server.base, headers={"Accept-Language": "en"}, timeout=30
    ) as http:
        assert f"{server.base}/demo" in server.log.read_text()  # the dev banner points to it
        page = http.get("/demo")
        assert page.status_code == 200

        # The authorization request an outside client sends: PKCE S256, state, nonce.
        request, page = start_sign_in(http, server, page)
        assert request["client_id"] == "nidan-demo"
        assert request["redirect_uri"] == server.base + "/demo/callback"
        assert request["code_challenge_method"] == "S256"
        assert all(request.get(name) for name in ("code_challenge", "state", "nonce"))
        assert request["ui_locales"] == "en"
        assert "acr_values" not in request
        assert path_of(page) == "/login"

        # First sign-in of the demo user: password, then enrollment of an app and a phone;
        # this browser is trusted at the end.
        page = submit(http, page, "/login", email=DEMO_EMAIL, password=DEMO_PASSWORD)
        assert path_of(page) == "/login/enroll"
        page = submit(http, page, "/login/enroll", method="totp")
        app = Authenticator(secret_on_page(page.text))
        page = submit(http, page, "/login/enroll/verify", code=app.code())
        page = submit(http, page, "/login/enroll", method="sms")
        page = submit(http, page, "/login/enroll/details", phone=MOBILE)
        page = submit(http, page, "/login/enroll/verify", code=server.outbox.code(MOBILE_E164))
        assert path_of(page) == "/login/enroll/codes"
        page = submit(http, page, "/login/enroll/codes", trust="1")

        # Back at the demo (through /demo/callback): the verified claims, in words.
        assert str(page.url) == server.base + "/demo"
        assert "Signed in as" in page.text
        claims = claims_on(page.text, "What the ID token says")
        assert claims["iss"] == server.base
        assert claims["aud"] == "nidan-demo"
        assert claims["acr"] == ACR_2SV
        assert "otp" in claims["amr"].split(", ")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", claims["auth_time"])
        assert all(claims.get(name) for name in ("sid", "sub", "nonce"))
        userinfo = claims_on(page.text, "What UserInfo says")
        assert userinfo["email"] == DEMO_EMAIL
        assert userinfo["sub"] == claims["sub"]
        japanese = http.get("/demo", headers={"Accept-Language": "ja"})
        assert "ID トークンの内容" in japanese.text
        assert "ログイン日時" in japanese.text
        # The demo's own cookie: a signed random id (its tokens stay in the Store).
        assert len(http.cookies["nidan_demo"]) < 100
        page = sign_out(http, server, page)

        # Signing in again on this trusted browser: the password alone.
        _, page = start_sign_in(http, server, page)
        page = submit(http, page, "/login", email=DEMO_EMAIL, password=DEMO_PASSWORD)
        assert str(page.url) == server.base + "/demo"
        trusted = claims_on(page.text, "What the ID token says")
        assert trusted["acr"] == "urn:nidan:acr:2sv-trusted-browser"
        assert trusted["amr"] == "pwd"
        assert "A trusted browser stood in for the code" in page.text

        # "Sign in again with a code" (acr_values): the session stands, a code is asked for.
        request, page = start_sign_in(http, server, page, acr="2sv")
        assert request["acr_values"] == ACR_2SV
        assert path_of(page) == "/login/code"
        page = submit(http, page, "/login/code", code=app.code())
        assert str(page.url) == server.base + "/demo"
        stepped_up = claims_on(page.text, "What the ID token says")
        assert stepped_up["acr"] == ACR_2SV
        assert "otp" in stepped_up["amr"].split(", ")
        assert stepped_up["sid"] == trusted["sid"]  # the same SSO session, stepped up
        assert stepped_up["nonce"] != trusted["nonce"]

        # "Sign out" ends the provider's session too: the next sign-in asks the password.
        page = sign_out(http, server, page)
        _, page = start_sign_in(http, server, page)
        assert path_of(page) == "/login"
        log = server.log.read_text()
        assert "Traceback" not in log
        assert '"level": "ERROR"' not in log


def test_there_is_no_demo_outside_dev_mode(tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(tmp_path, server={"issuer": f"http://127.0.0.1:{port}"})
    from idp.app import create_app

    with live_server(create_app(settings), port=port) as base:
        assert httpx.get(base + "/demo").status_code == 404
        assert httpx.get(base + "/demo/callback?code=x&state=y").status_code == 404
        assert httpx.post(base + "/demo/login").status_code == 404
