"""Server time of the WebAuthn (security key) verify path, next to TOTP, same run.

In one process, on the contract kit's real core (SQLite in a temporary directory), with the
kit's software authenticator answering (P-256 / ES256, ``none`` attestation):

- ``begin ceremony``: ``MethodService.send_challenge`` (options built, challenge stored);
- ``plugin verify``: the plugin's ``verify`` alone (py_webauthn: JSON, CBOR, origin, RP ID
  hash, challenge, ES256 signature);
- ``sign-in verify``: ``MethodService.verify`` whole: the challenge taken, a try reserved,
  the credential opened, the plugin's check, the core's judgement (key, UP, BE, counter),
  single use, the counter written back (compare-and-set), counters reset;
- ``registration``: ``complete_enrollment`` of a new key (attestation object parsed);
- ``totp verify``: ``MethodService.verify`` of a TOTP code, for the ratio.

Run: ``uv run python bench/bench_webauthn.py [--samples N] [--out bench/results/webauthn.md]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pyotp

from idp.methods.testing import ContractHarness
from idp.methods.testing_webauthn import SoftAuthenticator
from idp_totp import TotpMethod
from idp_webauthn import WebAuthnMethod

ORIGIN = "http://localhost:8000"
CONFIG = {"rp_id": "localhost", "allowed_origins": [ORIGIN]}


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter_ns()
    action()
    return (time.perf_counter_ns() - start) / 1e6


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.99 * (len(ordered) - 1))]


def bench_webauthn(tmp: Path, samples: int) -> dict[str, list[float]]:
    h = ContractHarness(tmp, WebAuthnMethod, CONFIG)
    results: dict[str, list[float]] = {"begin ceremony": [], "plugin verify": [],
                                       "sign-in verify": [], "registration": []}
    try:
        key = SoftAuthenticator(origin=ORIGIN, rp_id="localhost")
        for index in range(samples):
            user = h.user.__class__(id=f"reg-{index}", email=f"r{index}@example.com")
            pending = h.service.begin_enrollment(user, "primary", "webauthn",
                                                 {"key_name": "k"}, transaction="t")
            assert pending.ceremony is not None
            form = {"credential": key.answer(pending.ceremony)}
            results["registration"].append(timed(partial(
                h.service.complete_enrollment, user, "primary", form, transaction="t")))
        user = h.user.__class__(id="reg-0", email="r0@example.com")
        credential = h.service._core.credentials.open_credential(
            user.id, h.service._core.credentials.load(user.id)["primary"])
        for _ in range(samples):
            begin = partial(h.service.send_challenge, user, "primary", transaction="t")
            results["begin ceremony"].append(timed(begin))
            sent = begin()
            assert sent.ceremony is not None
            form = {"credential": key.answer(sent.ceremony)}
            challenge = h.method.begin_ceremony(user, credential, "sign-in")
            plugin_form = {"credential": key.answer(dict(challenge.data))}
            results["plugin verify"].append(timed(partial(
                h.method.verify, user, credential, challenge, plugin_form)))
            results["sign-in verify"].append(timed(partial(
                h.service.verify, user, "primary", form, transaction="t")))
    finally:
        h.close()
    return results


def bench_totp(tmp: Path, samples: int) -> list[float]:
    h = ContractHarness(tmp, TotpMethod, {})
    timings: list[float] = []
    try:
        pending = h.service.begin_enrollment(h.user, "primary", "totp", {})
        _, credential, _ = h.service._enroll._load_pending(h.user, "primary")
        assert not isinstance(credential.secret, bytes)
        totp = pyotp.TOTP(str(credential.secret["secret"]))
        h.service.complete_enrollment(h.user, "primary", {"code": totp.at(h.now())})
        assert pending.credential_id
        for _ in range(samples):
            h.advance(90)
            form = {"code": totp.at(h.now())}
            timings.append(timed(partial(h.service.verify, h.user, "primary", form)))
    finally:
        h.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        rows = bench_webauthn(Path(a), args.samples)
        rows["totp verify"] = bench_totp(Path(b), args.samples)
    totp_median = summary(rows["totp verify"])[0]
    lines = [
        "# WebAuthn verify path: server time",
        "",
        f"Measured by `bench/bench_webauthn.py` on {datetime.now(UTC):%Y-%m-%d}: Python "
        f"{platform.python_version()}, {platform.machine()}, {args.samples} samples per row, "
        "one thread, in process (no HTTP), SQLite store (WAL, temporary directory). The "
        "machine is shared: read the ratio to TOTP of the same run, not the absolute times.",
        "",
        "| operation | median (ms) | p99 (ms) | median / totp verify |",
        "|---|---:|---:|---:|",
    ]
    for name, samples in rows.items():
        median, p99 = summary(samples)
        lines.append(f"| {name} | {median:.3f} | {p99:.3f} | {median / totp_median:.1f} |")
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
