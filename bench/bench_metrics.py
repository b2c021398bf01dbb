"""The cost of metrics on the hot paths: requests per CPU-second of discovery and /token
(client_credentials: client authentication, one RS256 access token, a token record) with
metrics on and off, in the same run.

    uv run python bench/bench_metrics.py [--requests 400] [--rounds 3] [--clients 4]

Two provider processes (uvicorn, one worker each, their own SQLite store) differ only in
``[metrics] enabled``; the "on" one counts in prometheus-client's multiprocess files, as
``idp serve`` makes workers do. Rounds alternate between them so the machine's other load
falls on both alike; the figure is requests per CPU-second of the *server* process (user +
system time from /proc). Also printed: the series in one scrape of the "on" server's files.

Results: bench/results/metrics.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench._serving

import httpx
from bench._serving import bench_settings, child_server, cpu_seconds, free_port, run_quietly


def settings_for(directory: Path, port: int, metrics: bool) -> Any:
    return bench_settings(directory, port, metrics={"enabled": metrics})


def serve(directory: Path, port: int, metrics: bool) -> None:
    import logging

    logging.disable(logging.INFO)  # audit lines are real work, but not what is measured
    from idp.app import create_app

    run_quietly(create_app(settings_for(directory, port, metrics)), port)


def prepare(directory: Path) -> str:
    from idp.oidc.clients import ClientConfig, hash_secret, new_secret
    from idp.services import build_services

    services = build_services(settings_for(directory, free_port(), False))
    secret = new_secret()
    services.oidc.clients.add(ClientConfig(
        client_id="svc", grant_types=["client_credentials"], redirect_uris=[],
        secret_hash=hash_secret(secret), scopes=["openid", "profile"]))
    services.oidc.keys.ring()
    services.close()
    return secret


@contextmanager
def server(directory: Path, port: int, metrics: bool, multiproc: Path) -> Iterator[int]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if metrics:
        environment["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    argv = [sys.executable, __file__, "--serve", str(directory), str(port),
            "on" if metrics else "off"]
    with child_server(argv, port, env=environment, start_s=60) as pid:
        yield pid


def measure(pid: int, base: str, endpoint: str, requests: int, clients: int,
            secret: str) -> float:
    """Server CPU seconds for ``requests`` calls of ``endpoint``."""
    pool = [httpx.Client(base_url=base, timeout=30) for _ in range(clients)]

    def call(index: int) -> int:
        client = pool[index % clients]
        if endpoint == "discovery":
            return client.get("/.well-known/openid-configuration").status_code
        return client.post("/token", data={"grant_type": "client_credentials",
                                           "scope": "profile"},
                           auth=("svc", secret)).status_code

    try:
        for client in pool:
            client.get("/healthz")
        before = cpu_seconds(pid)
        with ThreadPoolExecutor(clients) as executor:
            statuses = list(executor.map(call, range(requests)))
        used = cpu_seconds(pid) - before
    finally:
        for client in pool:
            client.close()
    if any(status != 200 for status in statuses):
        raise RuntimeError(f"{endpoint}: failed requests: {set(statuses)}")
    return used


def series(multiproc: Path) -> int:
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiproc))  # type: ignore[no-untyped-call]
    return sum(len(family.samples) for family in registry.collect())


def run(requests: int, rounds: int, clients: int) -> tuple[dict[tuple[str, bool], float], int]:
    cpu: dict[tuple[str, bool], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {flag: Path(tmp) / ("on" if flag else "off") for flag in (True, False)}
        multiproc = Path(tmp) / "multiproc"
        multiproc.mkdir()
        secrets_ = {}
        for flag, folder in folders.items():
            folder.mkdir()
            secrets_[flag] = prepare(folder)
        ports = {flag: free_port() for flag in folders}
        with server(folders[True], ports[True], True, multiproc) as on_pid, \
                server(folders[False], ports[False], False, multiproc) as off_pid:
            pids = {True: on_pid, False: off_pid}
            for _ in range(rounds):
                for endpoint in ("discovery", "token"):
                    for flag in (True, False):
                        base = f"http://127.0.0.1:{ports[flag]}"
                        cpu[endpoint, flag] = cpu.get((endpoint, flag), 0.0) + measure(
                            pids[flag], base, endpoint, requests, clients, secrets_[flag])
        count = series(multiproc)
    return cpu, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--serve", nargs=3, metavar=("DIR", "PORT", "METRICS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.serve[2] == "on")
        return
    cpu, count = run(args.requests, args.rounds, args.clients)
    total = args.requests * args.rounds
    print(f"# {platform.node()}: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{args.clients} client threads, {args.rounds} interleaved rounds of "
          f"{args.requests} requests")
    print("| endpoint | metrics off: req/CPU-s | metrics on: req/CPU-s | on / off |")
    print("|---|---:|---:|---:|")
    for endpoint in ("discovery", "token"):
        off, on = total / cpu[endpoint, False], total / cpu[endpoint, True]
        print(f"| {endpoint} | {off:,.0f} | {on:,.0f} | {on / off:.2f} |")
    print(f"\nseries in one scrape of the 'on' server after the run: {count}")


if __name__ == "__main__":
    main()
