"""form_post in a real browser: the page submits itself under its own CSP (only its one
inline script, by hash, may run), and the client receives code, state and iss by POST."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from tests.live_server import free_port, live_server
from tests.oidc.helpers import add_client, authorize_query, make_user, pkce, provider_env, sign_in


@pytest.mark.browser
def test_form_post_submits_itself_in_chromium(tmp_path: Path, browser: Browser) -> None:
    received: dict[str, Any] = {}

    async def callback(request: Request) -> Response:
        received.update(await request.form())
        return PlainTextResponse("signed in")

    port = free_port()
    redirect = f"http://127.0.0.1:{port}/cb"
    client_app = Starlette(routes=[Route("/cb", callback, methods=["POST"])])
    with provider_env(tmp_path) as env, live_server(client_app, port=port), \
            httpx.Client() as agent:
        add_client(env, "web", redirect_uris=[redirect])
        sign_in(env, agent, make_user(env))
        _verifier, challenge = pkce()
        query = authorize_query("web", redirect_uri=redirect, code_challenge=challenge,
                                code_challenge_method="S256", response_mode="form_post")
        with closing(browser.new_context()) as context:
            context.add_cookies([{"name": name, "value": value, "url": env.base}
                                 for name, value in agent.cookies.items()])
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            page.goto(env.url("/authorize?" + urlencode(query)))
            page.wait_for_url(redirect, timeout=10_000)
            assert "signed in" in page.content()
    assert received["state"] == query["state"]
    assert received["iss"] == env.base
    assert len(received["code"]) >= 43
    assert not [line for line in console if "Content Security Policy" in line]
