"""The provider under test and the certification suite's client configuration: a live
provider on loopback whose issuer is its own URL, one clock for the OIDC layer *and* the
sign-in journey (so a test moves time instead of sleeping and ``auth_time`` moves with it),
the static clients the suite is configured with, and the person it signs in as.

The clients are registered as an operator registers the suite's clients for a certification
run (docs/conformance.md): confidential, exact redirect URIs under the suite's alias, PKCE
not required (the suite sends PKCE only in ``oidcc-ensure-request-with-valid-pkce-succeeds``),
the consent page shown (the suite's browser answers it like a person).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.conftest import make_settings
from tests.live_server import free_port, live_server
from tests.oidc.helpers import Clock, Env, add_client, build_env_services, make_user
from tests.oidc.receiver import Receiver

from idp.app import create_app
from idp.users import User

__all__ = ["CALLBACK", "POST_LOGOUT", "BackchannelReceiver", "Op", "SuiteClient",
           "conformance_provider", "receiving_backchannel"]

# The suite's URLs for a test plan alias (https://www.certification.openid.net/test/a/ALIAS/).
SUITE_BASE = "https://www.certification.openid.net/test/a/nidan"
CALLBACK = SUITE_BASE + "/callback"
POST_LOGOUT = SUITE_BASE + "/post_logout_redirect"


@dataclass(frozen=True)
class SuiteClient:
    """One static client of the suite's configuration (``client``, ``client2``,
    ``client_secret_post``)."""

    client_id: str
    secret: str
    auth: str  # client_secret_basic | client_secret_post
    scope: str = "openid"


@dataclass
class Op:
    """The provider under test, as the suite sees it."""

    env: Env
    client: SuiteClient
    client2: SuiteClient
    client_post: SuiteClient
    user: User
    discovery: dict[str, Any] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.env.base

    @property
    def clock(self) -> Clock:
        return self.env.clock

    def endpoint(self, name: str) -> str:
        value = self.discovery[name]
        assert isinstance(value, str), name
        return value


def _register(env: Env, client_id: str, auth: str, **extra: Any) -> SuiteClient:
    secret = add_client(env, client_id, redirect_uris=[CALLBACK],
                        post_logout_redirect_uris=[POST_LOGOUT], require_pkce=False,
                        skip_consent=False, token_endpoint_auth_method=auth, **extra)
    return SuiteClient(client_id, secret, auth)


@contextmanager
def conformance_provider(tmp_path: Path, *, backchannel_uri: str | None = None
                         ) -> Iterator[Op]:
    """A provider on 127.0.0.1 with the suite's clients and one enrolled person.

    The sign-in journey runs on the test's clock: ``create_app`` builds the app's one login
    machine with it."""
    port = free_port()
    clock = Clock()
    settings = make_settings(tmp_path, server={"issuer": f"http://127.0.0.1:{port}"})
    services = build_env_services(settings, clock)
    app = create_app(settings, services, clock=clock)
    try:
        with live_server(app, port=port) as base:
            env = Env(base=base, settings=settings, services=services, clock=clock)
            extra: dict[str, Any] = {}
            if backchannel_uri is not None:
                extra["backchannel_logout_uri"] = backchannel_uri
            op = Op(
                env=env,
                client=_register(env, "suite-client", "client_secret_basic", **extra),
                client2=_register(env, "suite-client2", "client_secret_basic"),
                client_post=_register(env, "suite-client-post", "client_secret_post"),
                user=make_user(env, enroll=True),
            )
            op.discovery = httpx.get(base + "/.well-known/openid-configuration").json()
            yield op
    finally:
        services.close()


class BackchannelReceiver(Receiver):
    """The suite's ``backchannel_logout`` endpoint: validates each logout token as a client
    must (:class:`tests.oidc.receiver.Receiver`) and also keeps how the request came (the
    suite checks the method, the content type and that nothing but ``logout_token`` is
    sent)."""

    def __init__(self, issuer: str, audience: str) -> None:
        super().__init__(issuer, audience)
        self.requests: list[dict[str, Any]] = []
        self.raw_tokens: list[str] = []

    async def endpoint(self, request: Request) -> Response:
        form = await request.form()  # Starlette keeps the parsed form for the base class
        self.requests.append({"method": request.method,
                              "content_type": request.headers.get("content-type", ""),
                              "fields": sorted(form.keys())})
        token = form.get("logout_token")
        if isinstance(token, str):
            self.raw_tokens.append(token)
        return await super().endpoint(request)


@contextmanager
def receiving_backchannel(issuer: str, audience: str, port: int
                          ) -> Iterator[BackchannelReceiver]:
    receiver = BackchannelReceiver(issuer, audience)
    app = Starlette(routes=[Route("/backchannel_logout", receiver.endpoint, methods=["POST"])])
    with live_server(app, port=port):
        yield receiver
