"""Attack 7 at full size: 10,000 hypothesis mutations of each registered redirect URI sent to
``/authorize`` of a provider on loopback (in-process uvicorn, a signed-in browser, so an
accepted URI would be redirected to at once). Counts the redirects to anything that is not
byte-equal to a registered URI (the target: 0) and the distinct mutations tried.

Run: ``uv run python bench/attack_redirects.py [--examples 10000]``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.oidc.helpers and tests.attacks._redirects

import httpx  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from tests.attacks._redirects import REGISTERED, mutations_of  # noqa: E402
from tests.oidc.helpers import add_client, authorize_query, make_user, provider_env, sign_in  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000, help="mutations per URI")
    args = parser.parse_args()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"z" * 43).digest()).rstrip(
        b"=").decode()
    bad: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as directory, provider_env(Path(directory)) as env, \
            httpx.Client(timeout=10) as http:
        add_client(env, "many", redirect_uris=list(REGISTERED))
        sign_in(env, http, make_user(env, "bench-redirects@example.com", enroll=True))
        for uri in REGISTERED:
            seen: set[str] = set()
            redirects = 0
            start = time.perf_counter()

            @settings(max_examples=args.examples, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(mutations_of(uri))
            def probe(candidate: str) -> None:
                nonlocal redirects
                seen.add(candidate)  # noqa: B023 - called before the loop moves on
                query = authorize_query("many", redirect_uri=candidate,
                                        code_challenge=challenge,
                                        code_challenge_method="S256")
                response = http.get(env.url("/authorize?" + urlencode(query)))
                location = response.headers.get("location", "")
                external = 300 <= response.status_code < 400 and not (
                    location.startswith("/") and not location.startswith("//"))
                if external or response.status_code != 400:
                    redirects += 1
                    bad.append((candidate, f"{response.status_code} {location}"))

            probe()
            elapsed = time.perf_counter() - start
            print(f"{uri}: {args.examples} examples, {len(seen)} distinct mutations, "
                  f"{redirects} redirected or not refused, {elapsed:.1f} s")
    for candidate, answer in bad[:20]:
        print(f"  NOT REFUSED: {candidate!r} -> {answer}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
