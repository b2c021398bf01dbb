"""Requests per CPU-second of the provider's hot paths, against a bare Starlette endpoint that
does the same RS256 signing, on the same machine in the same run.

    uv run python bench/bench_oidc.py [--requests 600] [--clients 4]

Each server runs in its own process (uvicorn, one worker, SQLite store in a temporary
directory); this process is the load. The figure is requests answered per CPU-second of the
*server* process (user + system time from /proc), so the client's own cost and the machine's
other load don't count; wall-clock requests per second are printed too.

- ``discovery``, ``jwks``: GET of the two public documents.
- ``token: code``: POST /token exchanging a fresh code (client_secret_basic, PKCE): one
  access token and one ID token signed (2 x RS256), a grant, a token record, a code taken.
- ``token: refresh``: POST /token with a refresh token: rotation (compare-and-set), 2 x RS256.
- ``bare: sign (loop)`` / ``bare: sign (thread)``: a Starlette endpoint that signs one RS256
  JWT with a key loaded once, on the event loop / in the thread pool (our handlers' model).

Results: bench/results/oidc.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench._serving

import httpx
from bench._serving import bench_settings, child_server, cpu_seconds, free_port, run_quietly

REDIRECT = "https://rp.example.com/callback"


def settings_for(directory: Path, port: int) -> Any:
    return bench_settings(directory, port)


# -- the servers (child processes) ------------------------------------------------------


def serve(kind: str, directory: Path, port: int) -> None:
    import logging

    logging.disable(logging.INFO)  # audit lines are real work, but not what is measured
    if kind == "idp":
        from idp.app import create_app

        app: Any = create_app(settings_for(directory, port))
    else:
        app = bare_app()
    run_quietly(app, port)


def bare_app() -> Any:
    from joserfc import jwk, jwt
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    key = jwk.RSAKey.generate_key(2048, private=True)
    kid = key.thumbprint()

    def sign() -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": "bench", "sub": "u", "aud": "rp", "iat": now, "exp": now + 600,
                  "jti": secrets.token_urlsafe(16)}
        return {"access_token": jwt.encode({"alg": "RS256", "kid": kid}, claims, key)}

    async def on_loop(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse(sign(), headers={"Cache-Control": "no-store"})

    async def in_thread(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse(await run_in_threadpool(sign), headers={"Cache-Control": "no-store"})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/loop", on_loop, methods=["POST"]),
                             Route("/thread", in_thread, methods=["POST"]),
                             Route("/healthz", healthz)])


@contextmanager
def server(kind: str, directory: Path, port: int) -> Iterator[int]:
    """A server process; yields its pid once it answers."""
    argv = [sys.executable, __file__, "--serve", kind, str(directory), str(port)]
    with child_server(argv, port, what=f"the {kind} server") as pid:
        yield pid


# -- measuring --------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    requests: int
    cpu_s: float
    wall_s: float

    @property
    def per_cpu_second(self) -> float:
        return self.requests / self.cpu_s if self.cpu_s else float("inf")


def measure(name: str, pid: int, calls: list[Call],
            clients: int, warm_url: str) -> Figure:
    pool = [httpx.Client(timeout=30) for _ in range(clients)]
    try:
        for client in pool:  # connect outside the measurement
            client.get(warm_url)
        cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
        with ThreadPoolExecutor(clients) as executor:
            results = list(executor.map(lambda pair: pair[1](pool[pair[0] % clients]),
                                        enumerate(calls)))
        wall = time.perf_counter() - wall_before
        cpu = cpu_seconds(pid) - cpu_before
    finally:
        for client in pool:
            client.close()
    bad = [r.status_code for r in results if r.status_code != 200]
    if bad:
        raise RuntimeError(f"{name}: {len(bad)} failed requests, e.g. {bad[:3]}")
    return Figure(name, len(calls), cpu, wall)


Call = Callable[[httpx.Client], httpx.Response]


def getter(url: str) -> Call:
    return lambda client: client.get(url)


def poster(url: str, data: dict[str, str], auth: tuple[str, str] | None = None) -> Call:
    if auth is None:
        return lambda client: client.post(url, data=data)
    return lambda client: client.post(url, data=data, auth=auth)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def prepare_provider(directory: Path, port: int) -> tuple[str, str, Any]:
    """A client, a person and an SSO session, written to the store the server will use."""
    from idp.login import ACR_2SV
    from idp.oidc.clients import ClientConfig, hash_secret, new_secret
    from idp.services import build_services

    services = build_services(settings_for(directory, port))
    secret = new_secret()
    services.oidc.clients.add(ClientConfig(client_id="rp", redirect_uris=[REDIRECT],
                                           secret_hash=hash_secret(secret), skip_consent=True))
    user = services.accounts.create("bench@example.com", display_name="Bench", locale="ja",
                                    password="timing-run-0123",  # noqa: S106 - throw-away
                                    actor="bench")
    _session, cookie = services.sessions.create(
        user_id=user.id, epoch=user.security_epoch, amr=("pwd", "otp", "mfa"), acr=ACR_2SV,
        auth_time=time.time(), second_factor_at=time.time())
    services.close()
    return secret, cookie.value, cookie.name


def codes(base: str, cookie: tuple[str, str], n: int) -> list[tuple[str, str]]:
    found = []
    with httpx.Client(timeout=30, cookies={cookie[0]: cookie[1]}) as browser:
        for _ in range(n):
            verifier, challenge = pkce()
            response = browser.get(f"{base}/authorize", params={
                "response_type": "code", "client_id": "rp", "redirect_uri": REDIRECT,
                "scope": "openid profile email", "state": "s", "nonce": "n",
                "code_challenge": challenge, "code_challenge_method": "S256"})
            code = httpx.URL(response.headers["location"]).params["code"]
            found.append((code, verifier))
    return found


def run(requests: int, clients: int) -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        port = free_port()
        secret, cookie_value, cookie_name = prepare_provider(directory, port)
        base = f"http://127.0.0.1:{port}"
        auth = ("rp", secret)
        with server("idp", directory, port) as pid:
            for path, name in (("/.well-known/openid-configuration", "discovery"),
                               ("/jwks.json", "jwks")):
                calls = [getter(base + path)] * (requests * 4)
                figures.append(measure(name, pid, calls, clients, base + "/healthz"))
            pairs = codes(base, (cookie_name, cookie_value), requests)
            refresh_tokens: list[str] = []

            def exchange(code: str, verifier: str) -> Call:
                def call(client: httpx.Client) -> httpx.Response:
                    response = client.post(base + "/token", auth=auth, data={
                        "grant_type": "authorization_code", "code": code,
                        "redirect_uri": REDIRECT, "code_verifier": verifier})
                    if response.status_code == 200:
                        refresh_tokens.append(response.json()["refresh_token"])
                    return response
                return call

            figures.append(measure("token: code", pid, [exchange(*p) for p in pairs], clients,
                                   base + "/healthz"))
            calls = [poster(base + "/token", {"grant_type": "refresh_token",
                                              "refresh_token": token}, auth)
                     for token in refresh_tokens]
            figures.append(measure("token: refresh", pid, calls, clients, base + "/healthz"))
        bare_port = free_port()
        with server("bare", directory, bare_port) as pid:
            bare = f"http://127.0.0.1:{bare_port}"
            for path, name in (("/loop", "bare: sign (loop)"), ("/thread", "bare: sign (thread)")):
                calls = [poster(bare + path, {"x": "1"})] * requests
                figures.append(measure(name, pid, calls, clients, bare + "/healthz"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]), int(args.serve[2]))
        return
    figures = run(args.requests, args.clients)
    print(f"# {platform.node()}: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{args.clients} client threads")
    print("| endpoint | requests | server CPU s | requests per CPU-second | wall req/s |")
    print("|---|---:|---:|---:|---:|")
    for figure in figures:
        print(f"| {figure.name} | {figure.requests} | {figure.cpu_s:.2f} | "
              f"{figure.per_cpu_second:,.0f} | {figure.requests / figure.wall_s:,.0f} |")


if __name__ == "__main__":
    main()
