"""A relying party's back-channel logout endpoint, as a real HTTP server: it validates each
logout token the way Back-Channel Logout 1.0 2.6 says a client must (signature against the
provider's JWKS, iss, aud, iat/exp, typ, events, sid/sub, no nonce) and keeps what arrived."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwk, jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.live_server import live_server

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass
class Receiver:
    issuer: str
    audience: str
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def endpoint(self, request: Request) -> Response:
        form = await request.form()
        token = form.get("logout_token")
        if not isinstance(token, str):
            self.refused.append("no logout_token")
            return Response(status_code=400)
        async with httpx.AsyncClient() as client:
            keys = jwk.KeySet.import_key_set(
                (await client.get(self.issuer + "/jwks.json")).json())
        try:
            decoded = jwt.decode(token, keys, algorithms=["RS256", "ES256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                iat={"essential": True}, exp={"essential": True}, jti={"essential": True},
            ).validate(decoded.claims)
        except Exception as exc:  # any failure is a refusal, as a client would answer
            self.refused.append(type(exc).__name__)
            return Response(status_code=400)
        claims = decoded.claims
        problems = [
            decoded.header.get("typ") != "logout+jwt",
            claims.get("events") != {EVENT: {}},
            "nonce" in claims,
            not claims.get("sid") and not claims.get("sub"),
        ]
        if any(problems):
            self.refused.append(f"bad logout token {problems}")
            return Response(status_code=400)
        self.received.append(claims)
        self.arrived.set()
        return Response(status_code=200)

    def wait(self, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while not self.received:
            if time.monotonic() > deadline:
                raise AssertionError(f"no logout token arrived (refused: {self.refused})")
            self.arrived.wait(0.05)
        return self.received[0]


@contextmanager
def receiving(issuer: str, audience: str, port: int) -> Iterator[Receiver]:
    receiver = Receiver(issuer, audience)
    app = Starlette(routes=[Route("/backchannel", receiver.endpoint, methods=["POST"])])
    with live_server(app, port=port):
        yield receiver
