"""Server time of second-factor verification, per method and store backend.

Measures, in one process on this machine, the time ``MethodService.verify`` takes for a
right code (tries reserved, credential read and decrypted, the plugin's check, the
single-use mark, counters reset, challenge removed) for ``totp``, ``sms`` and ``voice``; and
the one-time-code service alone (``issue`` then ``check``). On SQLite (a file in a temporary
directory, WAL) and on a real ``redis-server`` on loopback (no persistence).

Run: ``uv run python bench/bench_methods.py [--samples N] [--out bench/results/methods.md]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.redis_servers and tests.methods.helpers

from tests.methods.helpers import World  # noqa: E402
from tests.redis_servers import RedisStandalone  # noqa: E402

from idp.methods.codes import CodeService  # noqa: E402
from idp.methods.service import Role  # noqa: E402
from idp.settings import StoreSettings  # noqa: E402
from idp.store import Store, open_store  # noqa: E402

Timings = list[float]  # milliseconds


def summary(samples: Timings) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    action()
    return (time.perf_counter_ns() - start) / 1e6


def bench_verify(world: World, samples: int) -> dict[str, Timings]:
    service = world.service
    results: dict[str, Timings] = {"totp": [], "sms": [], "voice": []}
    # TOTP: one person; each sample moves the clock on, so every code is a fresh step.
    person = world.user("bench-totp")
    secret = world.enroll_totp(person, "primary")
    for _ in range(samples):
        world.advance(90)
        form = {"code": world.totp_code(secret)}
        results["totp"].append(timed(partial(service.verify, person, "primary", form)))
    # SMS and voice: one person per sample (resend limits are per person and number);
    # the challenge is sent outside the timing.
    for index in range(samples):
        user = world.user(f"bench-{index}")
        world.enroll_phone(user, "primary", "sms", f"+81901{index:07d}")
        world.enroll_phone(user, "backup", "voice", f"+81801{index:07d}")
        pairs: tuple[tuple[Role, str], ...] = (("primary", "sms"), ("backup", "voice"))
        for role, method in pairs:
            service.send_challenge(user, role)
            form = {"code": world.last_code()}
            results[method].append(timed(partial(service.verify, user, role, form)))
    return results


def bench_codes(store: Store, samples: int) -> Timings:
    codes = CodeService(store, lifetime_s=600, pepper=lambda: b"p" * 32, clock=time.time)
    timings: Timings = []
    for index in range(samples):
        scope = f"bench:{index}"

        def issue_and_check(scope: str = scope) -> None:
            issued = codes.issue(scope)
            assert codes.check(scope, issued.value) == issued.id

        timings.append(timed(issue_and_check))
    return timings


@contextmanager
def backend(name: str, tmp: Path, redis_url: str | None) -> Iterator[Store]:
    url = f"sqlite:///{tmp}/bench.sqlite3" if name == "sqlite" else str(redis_url)
    store = open_store(StoreSettings(url=url, prefix=f"bench:{uuid.uuid4().hex[:8]}:"))
    try:
        yield store
    finally:
        store.close()


def run(samples: int) -> list[tuple[str, str, float, float]]:
    rows: list[tuple[str, str, float, float]] = []
    limits = {"resend_per_window": 10_000, "sends_per_country_per_day": 1_000_000}
    with RedisStandalone() as redis_server, tempfile.TemporaryDirectory() as directory:
        for name in ("sqlite", "redis"):
            tmp = Path(directory) / name
            tmp.mkdir()
            with backend(name, tmp, redis_server.url) as store:
                world = World(tmp, store=store, limits=limits)
                try:
                    for method, timings in bench_verify(world, samples).items():
                        rows.append((name, f"verify {method}", *summary(timings)))
                finally:
                    world.delivery.close()
            with backend(name, tmp, redis_server.url) as store:
                rows.append((name, "code service issue + check", *summary(
                    bench_codes(store, samples))))
    return rows


def render(rows: list[tuple[str, str, float, float]], samples: int) -> str:
    lines = [
        "# Second-factor verification: server time",
        "",
        f"Measured by `bench/bench_methods.py` on {time.strftime('%Y-%m-%d')}: Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.machine()}. {samples} samples per row, one thread, in process (no HTTP). "
        "SQLite: one WAL file on local disk. Redis: `redis-server` on loopback, no "
        "persistence. Times in milliseconds.",
        "",
        "`verify` covers what the core does for a right code: reserve a try (`incr`), read and "
        "decrypt the credential (AES-GCM), load the challenge, the plugin's check (TOTP: "
        "three HMACs; SMS/voice: the code service's keyed hash), the single-use mark "
        "(`add`), reset the counters and remove the challenge: eight store round trips (ten "
        "for a delivered code, which the code service reads and consumes).",
        "",
        "| store | operation | median (ms) | p99 (ms) |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {store} | {op} | {median:.3f} | {p99:.3f} |" for store, op, median, p99 in rows]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "methods.md")
    args = parser.parse_args()
    text = render(run(args.samples), args.samples)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
