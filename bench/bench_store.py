"""Per-operation latency of the Store on SQLite and on a real standalone redis-server.

    uv run python bench/bench_store.py [--iterations 5000]

One thread, one store, loopback: what a single request pays per store call. The Redis
server is started here (AOF on, appendfsync everysec, as docs/store.md recommends); SQLite is
a WAL file in a temporary directory. Prints median and p99 in microseconds and calls per
second for each operation and backend. Results: bench/results/store.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The repository root, so the test helpers that start redis-server can be reused.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.redis_servers import RedisStandalone, redis_server_binary

from idp.settings import StoreSettings
from idp.store import Store, open_store

OPERATIONS = ("get", "set", "add", "take", "incr", "cas", "sadd", "smembers")
VALUE = b"x" * 200  # about the size of a JSON record (a code, a session)
WARMUP = 200


@dataclass(frozen=True)
class Result:
    backend: str
    operation: str
    median_us: float
    p99_us: float
    per_second: float


def _calls(store: Store, operation: str, n: int) -> Callable[[int], object]:
    """Set up ``n`` + warm-up calls of ``operation`` that each do real work, and return the
    call for iteration ``i``."""
    total = n + WARMUP
    if operation == "get":
        store.set("get", VALUE)
        return lambda i: store.get("get")
    if operation == "set":
        return lambda i: store.set("set", VALUE, ttl=600)
    if operation == "add":  # a fresh key each time, so every add succeeds
        return lambda i: store.add(f"add:{i}", VALUE, ttl=600)
    if operation == "take":
        for i in range(total):
            store.set(f"take:{i}", VALUE, ttl=600)
        return lambda i: store.take(f"take:{i}")
    if operation == "incr":
        return lambda i: store.incr("incr", ttl=600)
    if operation == "cas":  # each call succeeds: i -> i + 1
        store.set("cas", b"0")
        return lambda i: store.cas("cas", str(i).encode(), str(i + 1).encode(), ttl=600)
    if operation == "sadd":  # a small set, as the contract intends: re-adds renew the TTL
        return lambda i: store.sadd("sadd", f"member-{i % 10}", ttl=600)
    if operation == "smembers":  # a user's handful of trusted browsers
        store.sadd("smembers", *(f"device-{i}" for i in range(10)))
        return lambda i: store.smembers("smembers")
    raise ValueError(operation)


def measure(backend: str, store: Store, n: int) -> list[Result]:
    results = []
    for operation in OPERATIONS:
        call = _calls(store, operation, n)
        for i in range(WARMUP):
            call(i)
        samples = []
        started = time.perf_counter()
        for i in range(WARMUP, WARMUP + n):
            before = time.perf_counter_ns()
            call(i)
            samples.append(time.perf_counter_ns() - before)
        elapsed = time.perf_counter() - started
        samples.sort()
        results.append(
            Result(
                backend,
                operation,
                median_us=statistics.median(samples) / 1000,
                p99_us=samples[int(len(samples) * 0.99) - 1] / 1000,
                per_second=n / elapsed,
            )
        )
    return results


def table(results: list[Result]) -> str:
    lines = [
        "| backend | operation | median µs | p99 µs | calls/s |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.operation} | {r.median_us:.1f} | {r.p99_us:.1f} "
            f"| {r.per_second:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=5000, help="timed calls per operation")
    args = parser.parse_args()

    version = subprocess.run(
        [redis_server_binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[2]
    print(f"Python {platform.python_version()}, redis-server {version}, {args.iterations} calls")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="nidan-bench-") as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        with open_store(StoreSettings(url=sqlite_url, prefix="bench:")) as store:
            results += measure("sqlite", store, args.iterations)
    with RedisStandalone() as server, open_store(StoreSettings(url=server.url)) as store:
        results += measure("redis", store, args.iterations)
    print(table(results))


if __name__ == "__main__":
    main()
