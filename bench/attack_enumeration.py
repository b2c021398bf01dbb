"""Attack 10's timing half: interleaved password-step sign-ins for an existing and an unknown
email (a wrong password each time), against a provider on loopback (in-process uvicorn) with
the *default* argon2id cost, so the unknown email's dummy hash is measured for real. Prints
the median round trip of each, the difference, and a two-sided permutation test of the
difference of medians (target: |difference| < 5 ms and p > 0.01). The lockout limits are
raised for the run so every attempt reaches the password check.

Run: ``uv run python bench/attack_enumeration.py [--samples 2000] [--permutations 2000]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.conftest and tests.oidc.helpers

import httpx  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.live_server import live_server  # noqa: E402
from tests.oidc.helpers import PASSWORD, Clock, build_env_services, form_with  # noqa: E402

from idp.app import create_app  # noqa: E402
from idp.settings import PasswordSettings  # noqa: E402

RAISED: dict[str, object] = {"password_delay_after": 1_000_000, "password_lock_after": 1_000_000,
          "password_per_ip_per_minute": 1_000_000, "password_hard_stop": 1_000_000}


def one(http: httpx.Client, base: str, email: str) -> float:
    fields = form_with(http.get(base + "/login").text, "/login")
    fields.update(email=email, password="not-the-password")  # noqa: S106 - a wrong one
    start = time.perf_counter()
    response = http.post(base + "/login", data=fields)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code != 303, "a wrong password was accepted"
    return elapsed


def permutation_p(a: list[float], b: list[float], rounds: int, rng: random.Random) -> float:
    observed = abs(statistics.median(a) - statistics.median(b))
    pooled = a + b
    extreme = 0
    for _ in range(rounds):
        rng.shuffle(pooled)
        left, right = pooled[:len(a)], pooled[len(a):]
        if abs(statistics.median(left) - statistics.median(right)) >= observed:
            extreme += 1
    return (extreme + 1) / (rounds + 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="sign-ins in all")
    parser.add_argument("--permutations", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as directory:
        settings = make_settings(Path(directory), passwords=PasswordSettings().model_dump(
            include={"argon2_time_cost", "argon2_memory_kib", "argon2_parallelism"}),
            limits=RAISED)
        services = build_env_services(settings, Clock())
        existing = services.accounts.create("bench-enum@example.com", display_name="Bench",
                                            locale="en", password=PASSWORD, actor="bench").email
        times: dict[str, list[float]] = {"existing": [], "unknown": []}
        with live_server(create_app(settings, services)) as base, \
                httpx.Client(timeout=30) as http:
            for _ in range(10):  # warm up both paths
                one(http, base, existing)
                one(http, base, "nobody@example.com")
            order = ["existing", "unknown"] * (args.samples // 2)
            rng.shuffle(order)
            for index, kind in enumerate(order):
                email = existing if kind == "existing" else f"nobody-{index}@example.com"
                times[kind].append(one(http, base, email))
        services.close()
    med = {kind: statistics.median(values) for kind, values in times.items()}
    p = permutation_p(times["existing"], times["unknown"], args.permutations, rng)
    diff = med["existing"] - med["unknown"]
    print(f"{args.samples} interleaved sign-ins (wrong password), default argon2id")
    print(f"median existing {med['existing']:.2f} ms, unknown {med['unknown']:.2f} ms, "
          f"difference {diff:+.2f} ms, permutation p = {p:.3f}")
    met = abs(diff) < 5 and p > 0.01
    print("target (|difference| < 5 ms and p > 0.01): " + ("met" if met else "NOT met"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
