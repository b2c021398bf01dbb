"""Server time of a full sign-in over real HTTP, per step, password hashing excluded.

The journey of an enrolled person (authenticator app primary), as a browser walks it:

1. ``GET /login``           a new login transaction and the password page
2. ``POST /login``          limits, the password (argon2id), the trusted-browser check
3. ``GET /login/code``      the code page (the app's challenge: nothing is sent)
4. ``POST /login/code``     the code checked, the transaction ended, the SSO session made

The application runs under uvicorn on loopback, wrapped in an ASGI layer that records, for
each request, the time from the request entering the application to the last byte of its
response leaving it: server time, without the client and the socket. Each person is created
and enrolled before the clock runs (their enrollment is not measured).

Hashing: the password is checked with the production argon2id parameters (``[passwords]``
defaults). The time of one ``Passwords.verify`` with those parameters is measured apart, in
the same process, as many times as there are journeys, and its median is subtracted from the
``POST /login`` figures (that request verifies exactly one hash). The table shows the raw
``POST /login`` too.

Run: ``uv run python bench/bench_signin.py [--journeys N] [--out bench/results/signin.md]``
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.* helpers

import httpx  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402
from tests.conftest import TEST_DATA_KEY  # noqa: E402
from tests.live_server import free_port, live_server  # noqa: E402
from tests.login.helpers import PASSWORD, Authenticator, form  # noqa: E402
from tests.redis_servers import RedisStandalone  # noqa: E402

from idp.app import create_app  # noqa: E402
from idp.services import build_services  # noqa: E402
from idp.settings import PasswordSettings, load_settings  # noqa: E402
from idp.users.passwords import Passwords  # noqa: E402

STEPS = (("GET", "/login"), ("POST", "/login"), ("GET", "/login/code"),
         ("POST", "/login/code"))


class ServerTime:
    """ASGI layer: milliseconds per (method, path) from entry to the response's last byte."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.samples: dict[tuple[str, str], list[float]] = defaultdict(list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter_ns()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                elapsed = (time.perf_counter_ns() - start) / 1e6
                self.samples[(scope["method"], scope["path"])].append(elapsed)

        await self.app(scope, receive, timed_send)


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def hash_time(samples: int) -> float:
    """Median milliseconds of one argon2id verify with the production parameters."""
    passwords = Passwords(PasswordSettings())
    stored = passwords.hash(PASSWORD)
    times = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        passwords.verify(stored, PASSWORD)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(times)


@contextmanager
def site(store_url: str, directory: Path) -> Iterator[tuple[str, Any, ServerTime]]:
    port = free_port()
    empty = directory / "empty.toml"
    empty.write_text("")
    settings = load_settings(
        empty,
        server={"issuer": f"http://127.0.0.1:{port}"},
        store={"url": store_url, "prefix": f"bench{time.time_ns()}:"},
        secrets={"data_keys": [TEST_DATA_KEY], "cookie_keys": ["bench-cookie-key-0123456789"]},
        delivery={"allow_outbox": True,
                  "transports": {"outbox": {"path": str(directory / "outbox.jsonl")}}},
    )
    services = build_services(settings)
    timing = ServerTime(create_app(settings, services))
    try:
        with live_server(timing, port=port) as base:
            yield base, services, timing
    finally:
        services.close()


def enroll(services: Any, n: int) -> list[tuple[str, Authenticator]]:
    from idp.methods import MethodUser

    people = []
    for i in range(n):
        email = f"bench{i}@example.com"
        user = services.accounts.create(email, password=PASSWORD, locale="en")
        mu = MethodUser(id=user.id, email=email, locale="en")
        pending = services.methods.begin_enrollment(mu, "primary", "totp", {})
        app = Authenticator(pending.display["secret_grouped"].replace(" ", ""))
        services.methods.complete_enrollment(mu, "primary", {"code": app.code()})
        services.methods.begin_enrollment(mu, "backup", "voice", {"phone": f"03-1234-{i:04d}"})
        code = _outbox_code(services, f"+8131234{i:04d}")
        services.methods.complete_enrollment(mu, "backup", {"code": code})
        people.append((email, app))
    return people


def _outbox_code(services: Any, to: str) -> str:
    from tests.login.helpers import Outbox

    path = Path(str(services.settings.delivery.transports["outbox"]["path"]))
    return Outbox(path).code(to)


def journey(base: str, email: str, app: Authenticator) -> None:
    with httpx.Client(base_url=base, headers={"Accept-Language": "en"}) as http:
        page = http.get("/login")
        fields = form(page.text, "/login").fields
        answer = http.post("/login", data={**fields, "email": email, "password": PASSWORD})
        assert answer.headers["location"] == "/login/code", answer.status_code
        page = http.get("/login/code")
        fields = form(page.text, "/login/code").fields
        done = http.post("/login/code", data={**fields, "code": app.code()})
        assert done.status_code == 303
        assert done.headers["location"] == "/account"


def run(name: str, store_url: str, journeys: int, hashing_ms: float) -> list[str]:
    directory = Path(tempfile.mkdtemp(prefix="nidan-bench-"))
    try:
        with site(store_url, directory) as (base, services, timing):
            # One journey more than measured: the first compiles the templates.
            people = enroll(services, journeys + 1)
            for email, app in people:
                journey(base, email, app)
            rows = []
            total_median = 0.0
            for method, path in STEPS:
                samples = timing.samples[(method, path)][1:]
                assert len(samples) == journeys, (method, path, len(samples))
                if (method, path) == ("POST", "/login"):
                    raw_median, raw_p95 = summary(samples)
                    rows.append(f"| {name} | POST /login (raw, with one argon2id verify) | "
                                f"{raw_median:.2f} | {raw_p95:.2f} |")
                    samples = [s - hashing_ms for s in samples]
                median, p95 = summary(samples)
                total_median += median
                label = f"{method} {path}" + (" (hashing subtracted)"
                                              if (method, path) == ("POST", "/login") else "")
                rows.append(f"| {name} | {label} | {median:.2f} | {p95:.2f} |")
            rows.append(f"| {name} | **sum of the four medians** | **{total_median:.2f}** | |")
            return rows
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-redis", action="store_true", help="SQLite only.")
    args = parser.parse_args()
    hashing_ms = hash_time(args.journeys)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        rows += run("sqlite", f"sqlite:///{directory}/bench.sqlite3", args.journeys, hashing_ms)
    if not args.no_redis and shutil.which("redis-server"):
        with RedisStandalone() as redis_server:
            rows += run("redis", redis_server.url, args.journeys, hashing_ms)
    header = [
        "# A full sign-in: server time per step, password hashing excluded",
        "",
        f"Measured by `bench/bench_signin.py` on {time.strftime('%Y-%m-%d')}: Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.machine()}. {args.journeys} journeys per store, one at a time, each a "
        "new person (authenticator app primary) and a new browser, over real HTTP on "
        "loopback (uvicorn), after one warm-up journey. Server time: from the request "
        "entering the application to the last byte of its response (an ASGI layer around "
        "the app); the client and the socket are not counted. Times in milliseconds.",
        "",
        f"Hashing: one argon2id verify with the production parameters (m=19 MiB, t=2, p=1) "
        f"takes {hashing_ms:.2f} ms (median of {args.journeys}, same process); that median "
        "is subtracted from each `POST /login` sample.",
        "",
        "| store | step | median (ms) | p95 (ms) |",
        "|---|---|---:|---:|",
    ]
    text = "\n".join([*header, *rows, ""])
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
