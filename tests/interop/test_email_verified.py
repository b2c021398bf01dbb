"""email_verified as a strict client sees it: false in the ID token and UserInfo of a person
whose address nobody proved; after the person opens the link the provider mailed them and
confirms, a fresh sign-in's ID token (validated by panva's openid-client) says true."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
from tests.conftest import make_settings
from tests.interop.node_rp import NodeRp
from tests.interop.test_openid_client import register, rp_request, sign_in
from tests.live_server import free_port, live_server
from tests.oidc.helpers import Clock, Env, build_env_services, form_with, make_user

from idp.app import create_app
from idp.delivery.outbox import read_outbox

_VERIFY = re.compile(r"https?://[^\s]+/email/verify\?t=[^\s]+")


@contextmanager
def mailing_provider(tmp_path: Path) -> Iterator[Env]:
    """The provider of the interop tests, with notices mailed to the outbox."""
    port, clock = free_port(), Clock()
    settings = make_settings(tmp_path, server={"issuer": f"http://127.0.0.1:{port}"},
                             notifications={"email": ["outbox"], "poll_s": 0.05})
    with (
        closing(build_env_services(settings, clock)) as services,
        live_server(create_app(settings, services), port=port) as base,
    ):
        yield Env(base=base, settings=settings, services=services, clock=clock)


def _verification_link(outbox: Path, to: str, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for record in read_outbox(outbox, to=to):
            found = _VERIFY.search(str(record.get("text", "")))
            if record.get("channel") == "email" and found:
                return found.group(0)
        time.sleep(0.05)
    raise AssertionError(f"no verification mail to {to}")


def test_the_verification_link_flips_email_verified(node_rp: NodeRp, tmp_path: Path,
                                                    agent: httpx.Client) -> None:
    with mailing_provider(tmp_path) as env:
        secret = register(env, "tool", "client_secret_basic")
        user = make_user(env, enroll=True)
        request = rp_request(env, tmp_path, "tool", "client_secret_basic", secret)
        _, first, _ = sign_in(env, agent, node_rp, request, user)
        assert first["claims"]["email_verified"] is False
        assert first["userinfo"]["email_verified"] is False

        link = _verification_link(tmp_path / "outbox.jsonl", user.email)
        page = agent.get(link)
        assert page.status_code == 200
        done = agent.post(env.url("/email/verify"), data=form_with(page.text, "/email/verify"))
        assert done.status_code == 200

        again = rp_request(env, tmp_path, "tool", "client_secret_basic", secret)
        _, second, _ = sign_in(env, agent, node_rp, again, user)
        assert second["claims"]["email_verified"] is True
        assert second["claims"]["email"] == user.email
        assert second["userinfo"]["email_verified"] is True
