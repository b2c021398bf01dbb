"""The ID token after a security-key sign-in, as a strict relying party sees it: panva's
openid-client v6 validates the token, and its ``amr`` says what the key proved, no more:
``user`` (UP) and ``pin`` (UV) for a device-bound key, plus ``swk`` for a synced passkey;
never ``otp`` or ``sms``, and no ``hwk`` without attestation checked against the operator's
roots (attestation ``none`` here). The key is the contract kit's software authenticator,
answering the options of the page's JSON data island exactly as the page's script would.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tests.conftest import make_settings
from tests.interop.node_rp import NodeRp
from tests.interop.test_openid_client import CALLBACK, register, rp_request
from tests.live_server import free_port, live_server
from tests.oidc.helpers import (
    PASSWORD,
    TOTP_SECRET,
    Clock,
    Env,
    build_env_services,
    form_with,
    query_of,
)

from idp.app import create_app
from idp.methods.testing_webauthn import SoftAuthenticator
from idp.users import method_user

ISLAND = re.compile(r'<script type="application/json" id="webauthn-options">(.*?)</script>',
                    re.S)


@pytest.fixture
def keyed_env(tmp_path: Path) -> Iterator[tuple[Env, str]]:
    """A provider on 127.0.0.1 (its issuer) whose key method's origin is the page as a
    browser at ``http://localhost:<port>`` sees it."""
    port = free_port()
    origin = f"http://localhost:{port}"
    methods = ["totp", "sms", "voice", "webauthn"]
    settings = make_settings(
        tmp_path, server={"issuer": f"http://127.0.0.1:{port}"},
        methods={"totp": {}, "sms": {}, "voice": {},
                 "webauthn": {"rp_id": "localhost", "allowed_origins": [origin]}},
        enrollment={"primary": methods, "backup": methods},
    )
    clock = Clock()
    with (
        closing(build_env_services(settings, clock)) as services,
        live_server(create_app(settings, services), port=port) as base,
    ):
        yield Env(base=base, settings=settings, services=services, clock=clock), origin


def _person(env: Env, key: SoftAuthenticator) -> str:
    """An app as primary and ``key`` as backup; returns the email address."""
    user = env.services.accounts.create("keyed@example.com", display_name="Keyed",
                                        locale="en", password=PASSWORD, actor="test")
    mu = method_user(user)
    env.services.methods.import_credentials(mu, [("totp", "primary", {"secret": TOTP_SECRET})])
    pending = env.services.methods.begin_enrollment(mu, "backup", "webauthn",
                                                    {"key_name": "Key"}, transaction="setup")
    assert pending.ceremony is not None
    env.services.methods.complete_enrollment(mu, "backup",
                                             {"credential": key.answer(pending.ceremony)},
                                             transaction="setup")
    return user.email


def _sign_in_with_key(env: Env, http: httpx.Client, url: str, email: str,
                      key: SoftAuthenticator) -> str:
    """Password, then "Didn't receive the code?", then the key; the callback URL."""
    response = http.get(url)
    for _ in range(12):
        assert response.status_code == 303, response.text[-500:]
        location = response.headers["location"]
        if not location.startswith("/"):
            assert location.startswith(CALLBACK + "?")
            assert "code" in query_of(location)
            return location
        path = urlsplit(location).path
        if path == "/login/code" and "use=backup" not in location:
            location = "/login/code?use=backup"  # the app is not at hand
        page = http.get(env.url(location))
        if page.status_code == 303:
            response = page
            continue
        if path == "/login":
            fields = form_with(page.text, "/login")
            fields.update(email=email, password=PASSWORD)
            response = http.post(env.url("/login"), data=fields)
        elif path == "/login/code":
            island = ISLAND.search(page.text)
            assert island, "the key page carries no ceremony options"
            ceremony = json.loads(html.unescape(island.group(1)))
            fields = form_with(page.text, "/login/code")
            fields["credential"] = key.answer(ceremony)
            response = http.post(env.url("/login/code"), data=fields)
        else:
            raise AssertionError(f"unexpected page {path}")
    raise AssertionError("the sign-in did not end")


@pytest.mark.parametrize(("synced", "amr"), [
    (False, ["pwd", "user", "pin", "mfa"]),
    (True, ["pwd", "swk", "user", "pin", "mfa"]),
])
def test_the_id_token_says_what_the_key_proved(
    keyed_env: tuple[Env, str], agent: httpx.Client, node_rp: NodeRp, tmp_path: Path,
    synced: bool, amr: list[str],
) -> None:
    env, origin = keyed_env
    key = SoftAuthenticator(origin=origin, rp_id="localhost", backup_eligible=synced,
                            backed_up=synced)
    email = _person(env, key)
    secret = register(env, "tool", "client_secret_basic")
    request = rp_request(env, tmp_path, "tool", "client_secret_basic", secret)
    started = node_rp.ok("start", request)
    callback = _sign_in_with_key(env, agent, started["authorization_url"], email, key)
    finished = node_rp.ok("finish", {"state_file": request["state_file"],
                                     "callback_url": callback})
    claims = finished["claims"]  # as openid-client validated them
    assert claims["amr"] == amr
    assert not {"otp", "sms", "hwk"} & set(claims["amr"])
